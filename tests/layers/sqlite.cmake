# SQLite stays inside the store: no sqlite3 / mt_store_db outside src/store/
# (src/, include/, cli/, fuzz/, bench/). Included from tests/integration.
add_test(NAME layers_no_sqlite_outside_store
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/layers/no-sqlite-outside-store.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(layers_no_sqlite_outside_store PROPERTIES TIMEOUT 60 LABELS layers)
