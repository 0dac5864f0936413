// Tests that the event log's hash chain finds what an attacker with file access changed:
// bytes of an event rewritten in a snapshot or WAL file, with the file's CRCs fixed.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
