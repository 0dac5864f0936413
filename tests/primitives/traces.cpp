// Tests of inmem/primitives/traces.hpp.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
