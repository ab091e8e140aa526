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

# --- auth: the node's Authorization header (fuzz_auth) ---
nid = ids["cases"][0]["node_id"]
sig = "A" * 85 + "g"  # 86 base64url characters whose padding bits are zero
nonce = "0123456789abcdef" * 2
write("auth", "valid", f"Mesh id={nid},ts=1767225600,nonce={nonce},sig={sig}")
write("auth", "reordered", f"Mesh sig={sig}, nonce={nonce}, ts=0, id={nid}")
write("auth", "dup", f"Mesh id={nid},id={nid},ts=1,nonce={nonce},sig={sig}")
write("auth", "leading-zero", f"Mesh id={nid},ts=01,nonce={nonce},sig={sig}")
write("auth", "upper-nonce", f"Mesh id={nid},ts=1,nonce={nonce.upper()},sig={sig}")
write("auth", "trailing-comma", f"Mesh id={nid},ts=1,nonce={nonce},sig={sig},")
write("auth", "bearer", "Bearer " + "ab" * 32)
write("auth", "huge-ts", f"Mesh id={nid},ts=9007199254740992,nonce={nonce},sig={sig}")

# --- trust_import: trust-export documents and NDJSON (fuzz_trust_import) ---
valid = [json.loads(v["canonical"]) for v in st["valid"]]
write("trust_import", "doc", json.dumps({"version": 1, "statements": valid,
                                         "notes": {nid: "alice"}}))
write("trust_import", "doc-mixed", json.dumps({"version": 1, "statements": [valid[0], 1.5, "x", [],
                                               {"b": 1e300, "a": None}]}))
write("trust_import", "doc-bad-notes", json.dumps({"version": 1, "statements": [], "notes": {"nobody": 1}}))
write("trust_import", "doc-version2", json.dumps({"version": 2, "statements": []}))
write("trust_import", "ndjson", "\n".join(v["canonical"] for v in st["valid"]) + "\n\n")
write("trust_import", "ndjson-nul", b"{}\n{\"a\":\0}\n" + b"y" * 40 + b"\r\n")

# --- edgelist: first byte = format (0 konect, 1 csv-signed, 2 snap; +3 limited-below) ---
write("edgelist", "konect", b"\x00% sym unweighted\n% 3 3 3\n1 2 1\n2 3 0.6 1400000000\n3 1 .8\n4 4 1\n5 6 -1\n")
write("edgelist", "konect-limited", b"\x03" + b"1 2 0.4\n2 1 0.9\r\n")
write("edgelist", "csv", b"\x01" + b"7188,1,10,1407470400\n430,1,-3,1376539200\n3134,1,5,1369713600.5\n1,1,1,1\n")
write("edgelist", "csv-future", b"\x04" + b"1,2,3,99999999999\n2,3,1,0\n")
write("edgelist", "snap", b"\x02" + b"# Directed graph\n# FromNodeId\tToNodeId\n0\t1\n1\t2\t-1\n2   0  1\n   \n")
write("edgelist", "bad-field", b"\x00" + b"1 2 x\n")
