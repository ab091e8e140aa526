# Governance integration test (include()d from tests/integration/CMakeLists.txt):
# three homes (and an outsider) vote; tallies and the policy in force agree byte
# for byte; policy eval applies the community's Gini limit and bridges (SPEC §9.3).
add_test(NAME integration_gov_homes
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_gov_homes.py $<TARGET_FILE:mesh>
                 $<TARGET_FILE:mt_sign>)
set_tests_properties(integration_gov_homes PROPERTIES TIMEOUT 300 LABELS integration)
# A running node enforces its community's policy in force (needs bench_ingest for the harness).
if(MT_BENCH)
  add_test(NAME integration_gov_node
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_gov_node.py $<TARGET_FILE:mesh>
                   $<TARGET_FILE:bench_ingest>)
  set_tests_properties(integration_gov_node PROPERTIES TIMEOUT 300 LABELS "integration;node")
endif()
