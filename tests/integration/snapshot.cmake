# The engine snapshot (issue #22, include()d from tests/integration/CMakeLists.txt):
# answers with <home>/engine.snap equal the rebuilt engine's after random
# additions, revocations, blocks and expiries, killed writers and damaged files.
if(MT_BENCH)  # the crash group generates statements with bench_ingest
  add_test(NAME integ_snapshot
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_snapshot.py
                   $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
  set_tests_properties(integ_snapshot PROPERTIES TIMEOUT 300 LABELS integration)
endif()
