# The topology test driver (streams/testdriver.h): views and processors run
# record by record on real LMDB stores, without Kafka. Answers are rendered
# as queries render them (query/render.c), hence ed_query. Shared helpers:
# driver_util.c.
foreach(t driver_window_test driver_session_test driver_view_test driver_processor_test)
  ed_add_test(${t}
    SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/${t}.c ${CMAKE_SOURCE_DIR}/tests/streams/driver_util.c
    LIBS ed_streams ed_query ed_store ed_common
    LABEL unit)
endforeach()
