# streams/window.c: pure functions, no broker, no store
ed_add_test(window_test
  SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/window_test.c ${CMAKE_SOURCE_DIR}/streams/window.c
  LIBS ed_common LABEL unit)
