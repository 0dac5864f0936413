// Precompiled for the test executables: Catch2 and the inmem umbrella.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
