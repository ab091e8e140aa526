# Flow-mode integration test (include()d from tests/integration/CMakeLists.txt):
# trust.mode flow in `trust list`/`trust path`, config validation, and a small
# `mesh sim attack` run on Advogato.
add_test(NAME integration_flow_cli
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/test_flow_cli.py $<TARGET_FILE:mesh>)
set_tests_properties(integration_flow_cli PROPERTIES TIMEOUT 120 LABELS integration
                     ENVIRONMENT MT_SHARED_DIR=${MT_SHARED_DIR})
