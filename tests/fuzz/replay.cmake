# The fuzz targets in the normal build (gcc is fine, no libFuzzer): each
# fuzz_<name>.cpp is linked with replay_main.cpp into replay_<name>, and the
# CTest fuzz_replay_<name> (label unit) runs it over the committed seeds
# (corpus/<name>/) and reproducers (crashes/<name>/, when there are any). So
# a target that crashes or throws on a seed or a fixed finding, or aborts
# before its first input (a static initialiser that throws), fails
# `ctest -L unit` and not only scripts/fuzz. Not in a build configured with
# ACMEZONE_FUZZ=ON: there the libraries carry libFuzzer's coverage hooks and
# the targets are built by tests/fuzz/CMakeLists.txt instead.
set(ACMEZONE_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

function(acmezone_fuzz_target name)
    cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
    set(exe replay_${name})
    add_executable(${exe} ${ACMEZONE_FUZZ_DIR}/${name}.cpp ${ACMEZONE_FUZZ_DIR}/replay_main.cpp)
    target_link_libraries(${exe} PRIVATE ${F_LIBS})
    add_test(NAME fuzz_replay_${name}
             COMMAND ${exe} ${ACMEZONE_FUZZ_DIR}/corpus/${name} ${ACMEZONE_FUZZ_DIR}/crashes/${name})
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit TIMEOUT 300)
endfunction()

include(${ACMEZONE_FUZZ_DIR}/targets.cmake)

# The seed generator of corpus/fuzz_tsig_answer, here too so that the seeds
# can be made again without clang (see tests/fuzz/CMakeLists.txt).
add_executable(fuzz_make_tsig_answers ${ACMEZONE_FUZZ_DIR}/make_tsig_answers.cpp)
target_link_libraries(fuzz_make_tsig_answers PRIVATE acmezone_plugin_core acmezone_issuer_lib)
