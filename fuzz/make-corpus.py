#!/usr/bin/env python3
"""Write seed corpora for the fuzz targets from ../shared/vectors (run once;
the result is committed under fuzz/corpus/)."""
import json, os, sys
root = os.path.dirname(os.path.abspath(__file__))
vec = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "..", "shared", "vectors")
def write(target, name, data):
    d = os.path.join(root, "corpus", target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f: f.write(data if isinstance(data, bytes) else data.encode())
st = json.load(open(os.path.join(vec, "statements.json")))
for i, v in enumerate(st["valid"]):
    write("canon", f"valid{i}", v["canonical"]); write("statement", f"valid{i}", v["canonical"])
for i, v in enumerate(st["invalid"]):
    write("canon", f"invalid{i}", v["text"]); write("statement", f"invalid{i}", v["text"])
for i, t in enumerate(st["equivocation"]):
    write("statement", f"fork{i}", t)
ids = json.load(open(os.path.join(vec, "identity.json")))
for c in ids["cases"]:
    write("identity", c["name"] + "-id", c["node_id"]); write("identity", c["name"] + "-did", c["did"])
write("identity", "bad", "12D3KooWnotanid")
write("policy", "default", "max_gini = 0.7\nenforce_gini = false\n[[tier]]\nmin_score = 0.7\nper_second = 200\nburst = 50\n")
write("policy", "bad", "[[tier]]\nmin_score = 0.2\n[[tier]]\nmin_score = 0.9\nper_second = -1\n")
for i, q in enumerate(['pin deps', '"quoted" NEAR(a b) *', '   ', 'ünï 中文 🙂']):
    write("search_expr", f"q{i}", q)
