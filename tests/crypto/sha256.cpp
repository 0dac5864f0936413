// Tests of inmem/crypto/sha256.hpp: FIPS 180-4 / NIST example digests, incremental feeding,
// reuse after finish, and one hasher per thread.
#include <catch2/catch.hpp>
#include <inmem/crypto/sha256.hpp>

#include <string>
#include <thread>
#include <vector>

using inmem::detail::sha256;

TEST_CASE("sha256 gives the published digests", "[sha256]") {
    CHECK(inmem::to_hex(sha256::of("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(inmem::to_hex(sha256::of("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(inmem::to_hex(sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a's, fed in pieces that do not line up with the 64-byte blocks.
    sha256 h;
    const std::string piece(999, 'a');
    for (int i = 0; i < 1000; ++i) h.update(piece);
    h.update(std::string(1000, 'a'));
    CHECK(inmem::to_hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 is the same fed at once or byte by byte, and starts over after finish", "[sha256]") {
    std::string message;
    for (int i = 0; i < 300; ++i) message.push_back(static_cast<char>(i * 7));
    const auto whole = sha256::of(message);
    sha256 h;
    for (char c : message) h.update(&c, 1);
    h.update(nullptr, 0); // nothing fed: no effect
    CHECK(h.finish() == whole);
    // The hasher is reusable: the next message does not see the last one.
    CHECK(inmem::to_hex(h.update("abc").finish()) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(h.finish() == sha256::of(""));
    // Moved-from and moved-to hashers: the moved-to one carries on.
    h.update("ab");
    sha256 moved(std::move(h));
    CHECK(moved.update("c").finish() == sha256::of("abc"));
    // A one-bit change changes the digest.
    message[150] = static_cast<char>(message[150] ^ 1);
    CHECK(sha256::of(message) != whole);
}

TEST_CASE("sha256::of is safe from many threads at once", "[sha256]") {
    const auto want = sha256::of("the event log's hash chain");
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) wrong[t] += sha256::of("the event log's hash chain") != want;
        });
    for (auto& th : threads) th.join();
    CHECK(wrong == std::vector<int>(4, 0));
}
