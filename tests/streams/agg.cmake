# aggregate functions (streams/agg.c, streams/distinct.c)
ed_add_test(agg_test
  SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/agg_test.c ${CMAKE_SOURCE_DIR}/streams/agg.c
          ${CMAKE_SOURCE_DIR}/streams/distinct.c ${CMAKE_SOURCE_DIR}/streams/value.c
  LIBS ed_store ed_common m
  LABEL unit)
