# Proof-of-trust integration test (include()d from tests/integration/CMakeLists.txt):
# three homes exchange a community's statements and must agree byte for byte.
add_test(NAME integration_pot_homes
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_pot_homes.py $<TARGET_FILE:mesh>)
set_tests_properties(integration_pot_homes PROPERTIES TIMEOUT 300 LABELS integration)
