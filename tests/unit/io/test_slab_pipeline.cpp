// io/slab_pipeline: the overlapped run does every stage on the buffer a serial run would,
// and on a failure throws the error a serial run meets first, with the same writes done.
#include <doctest/doctest.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fq/io/slab_pipeline.hpp"

namespace {

struct Outcome {
    std::vector<std::size_t> coded, written;  // slabs, in the order the stage finished them
    std::string error;                        // what was thrown ("" = nothing)
};

// Slabs 0..n-1 whose values travel read -> code -> write through two buffer sets; the stage
// named by fail_stage throws at slab fail_at (and, for a second failure, read at read_fail).
Outcome run(std::size_t n, bool overlap, const std::string& fail_stage, std::size_t fail_at,
            std::size_t read_fail = static_cast<std::size_t>(-1)) {
    Outcome out;
    std::mutex mu;
    long in[2] = {-1, -1}, coded[2] = {-1, -1};
    fq::io::SlabStages s;
    s.read = [&](std::size_t i, int b) {
        if ((fail_stage == "read" && i == fail_at) || i == read_fail)
            throw std::runtime_error("read " + std::to_string(i));
        std::this_thread::yield();
        in[b] = static_cast<long>(i);
    };
    s.code = [&](std::size_t i, int b) {
        if (fail_stage == "code" && i == fail_at)
            throw std::runtime_error("code " + std::to_string(i));
        REQUIRE(in[b] == static_cast<long>(i));  // the slab read into this buffer set
        coded[b] = in[b] * 10;
        std::lock_guard<std::mutex> lock(mu);
        out.coded.push_back(i);
    };
    s.write = [&](std::size_t i, int b) {
        if (fail_stage == "write" && i == fail_at)
            throw std::runtime_error("write " + std::to_string(i));
        REQUIRE(coded[b] == static_cast<long>(i) * 10);  // this slab's result, not another's
        std::lock_guard<std::mutex> lock(mu);
        out.written.push_back(i);
    };
    try {
        fq::io::run_slab_pipeline(n, s, overlap);
    } catch (const std::runtime_error& e) {
        out.error = e.what();
    }
    return out;
}

}  // namespace

TEST_CASE("slab pipeline: every slab read, coded and written in order, either way") {
    for (std::size_t n : {0u, 1u, 2u, 3u, 8u, 33u}) {
        CAPTURE(n);
        for (const bool overlap : {false, true}) {
            const Outcome o = run(n, overlap, "", 0);
            CHECK(o.error.empty());
            std::vector<std::size_t> all;
            for (std::size_t i = 0; i < n; ++i) all.push_back(i);
            CHECK(o.coded == all);
            CHECK(o.written == all);
        }
    }
}

TEST_CASE("slab pipeline: a failure throws what the serial loop meets first, same writes done") {
    for (std::size_t n : {1u, 2u, 5u}) {
        for (const char* stage : {"read", "code", "write"}) {
            for (std::size_t at = 0; at < n; ++at) {
                CAPTURE(n);
                CAPTURE(stage);
                CAPTURE(at);
                const Outcome serial = run(n, false, stage, at);
                const Outcome overlapped = run(n, true, stage, at);
                CHECK(serial.error == std::string(stage) + " " + std::to_string(at));
                CHECK(overlapped.error == serial.error);
                CHECK(overlapped.written == serial.written);
            }
        }
    }
    // Two failures at once: code(i) or write(i) fails while the read of i + 1 (running
    // beside it) fails too; the serial loop meets the code or write failure first.
    for (const char* stage : {"code", "write"})
        for (std::size_t at = 0; at + 1 < 5; ++at) {
            CAPTURE(stage);
            CAPTURE(at);
            const Outcome serial = run(5, false, stage, at, at + 1);
            const Outcome overlapped = run(5, true, stage, at, at + 1);
            CHECK(serial.error == std::string(stage) + " " + std::to_string(at));
            CHECK(overlapped.error == serial.error);
            CHECK(overlapped.written == serial.written);
        }
}
