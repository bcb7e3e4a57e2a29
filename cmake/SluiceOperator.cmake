# sluice_add_operator(NAME SOURCES a.cpp ... [DEPS target ...])
# Builds operators/NAME as the static library sluice_op_NAME (alias sluice::op_NAME), with
# its public headers under operators/NAME/include, linked to sluice::core.
function(sluice_add_operator name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
    set(target sluice_op_${name})
    add_library(${target} STATIC ${ARG_SOURCES})
    add_library(sluice::op_${name} ALIAS ${target})
    target_include_directories(${target} PUBLIC
        $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(${target} PUBLIC sluice::core PRIVATE ${ARG_DEPS})
    target_compile_options(${target} PRIVATE ${SLUICE_WARNINGS})
    set_target_properties(${target} PROPERTIES EXPORT_NAME op_${name})
    set_property(GLOBAL APPEND PROPERTY SLUICE_OPERATOR_TARGETS ${target})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
        install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    endif()
endfunction()
