# Fault-injection tests (label `fault`) and the bounded soak (label `soak`).
# Included from the top-level CMakeLists.txt.
# bench_ingest (the statement generator) is defined in bench/, possibly after
# this file is read; generator expressions resolve at generate time, so test
# for the option instead of the target.
# Run: ctest -L fault ; ctest -L soak (60 s; tests/soak/soak.py 600 for the 10-minute run)
if(MT_BENCH)
  foreach(t rebuild_kill disk_full busy net_drop)
    add_test(NAME fault_${t}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_${t}.py
                     $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
    set_tests_properties(fault_${t} PROPERTIES LABELS fault TIMEOUT 300)
  endforeach()
  add_test(NAME soak_60s
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/../soak/soak.py 60
                   $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
  set_tests_properties(soak_60s PROPERTIES LABELS soak TIMEOUT 300)
endif()
