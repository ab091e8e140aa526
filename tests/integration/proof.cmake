# Portable proofs (SPEC §9.6): trust path --proof, proof verify in a fresh HOME.
add_test(NAME integ_proof
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_proof.py $<TARGET_FILE:mesh>)
set_tests_properties(integ_proof PROPERTIES TIMEOUT 240 LABELS integration)
