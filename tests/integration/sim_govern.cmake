# `mesh sim govern` (issue #17 point 4; include()d from tests/integration/CMakeLists.txt):
# determinism, grids computed by hand, and the model checked against the real
# derivation (--verify: mt_pot_derive / mt_gov_derive on signed statements).
add_test(NAME integration_sim_govern
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_sim_govern.py $<TARGET_FILE:mesh>)
set_tests_properties(integration_sim_govern PROPERTIES TIMEOUT 300 LABELS integration)
