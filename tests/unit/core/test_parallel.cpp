// Tests of core/parallel: chunk boundaries, and the exception rule of parallel_chunks — an
// exception thrown inside a chunk never escapes the OpenMP region; it is captured and, after
// the loop, the one of the lowest chunk index is rethrown to the caller unchanged (type and
// message), with 1 and with 2 threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/parallel.hpp"

using namespace fq;

namespace {

// Sets the OpenMP thread count for the scope, restores the previous one afterwards (also
// when a REQUIRE leaves the test early).
struct Threads {
    int saved = core::max_threads();
    explicit Threads(int n) { core::set_threads(n); }
    ~Threads() { core::set_threads(saved); }
    Threads(const Threads&) = delete;
    Threads& operator=(const Threads&) = delete;
};

// Runs parallel_chunks(n, chunk, body) and returns what reached the caller (null if nothing).
template <class Body>
std::exception_ptr thrown_by(std::size_t n, std::size_t chunk, Body&& body) {
    try {
        core::parallel_chunks(n, chunk, body);
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

// The what() of an exception derived from std::exception; "" for anything else.
std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "";
    }
}

// The (mangled) name of the dynamic type of an exception derived from std::exception, a
// string so that a failed CHECK shows it; "" for anything else.
std::string type_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return typeid(x).name();
    } catch (...) {
        return "";
    }
}

template <class T>
std::string name_of() {
    return typeid(T).name();
}

}  // namespace

TEST_CASE("parallel_chunks: chunks cover 0..n-1 once, boundaries independent of threads") {
    CHECK(core::chunk_count(0, 10) == 0);
    CHECK(core::chunk_count(10, 0) == 0);
    CHECK(core::chunk_count(10, 10) == 1);
    CHECK(core::chunk_count(11, 10) == 2);
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        const Threads t(threads);
        constexpr std::size_t n = 1003, chunk = 10;
        std::vector<std::atomic<int>> hits(n);
        std::vector<std::size_t> begins(core::chunk_count(n, chunk), n + 1),
            ends(begins.size(), n + 1);
        core::parallel_chunks(n, chunk, [&](std::size_t c, std::size_t b, std::size_t e) {
            begins[c] = b;
            ends[c] = e;
            for (std::size_t i = b; i < e; ++i) ++hits[i];
        });
        for (std::size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
        for (std::size_t c = 0; c < begins.size(); ++c) {
            CHECK(begins[c] == c * chunk);
            CHECK(ends[c] == std::min(n, (c + 1) * chunk));
        }
        int calls = 0;
        core::parallel_chunks(0, chunk, [&](std::size_t, std::size_t, std::size_t) { ++calls; });
        core::parallel_chunks(n, 0, [&](std::size_t, std::size_t, std::size_t) { ++calls; });
        CHECK(calls == 0);
    }
}

TEST_CASE("parallel_chunks: an fq::Error thrown in one chunk reaches the caller intact") {
    constexpr std::size_t n = 1000, chunk = 10, nchunks = 100;
    for (int threads : {1, 2}) {
        for (std::size_t bad : {std::size_t{0}, std::size_t{37}, nchunks - 1}) {
            CAPTURE(threads);
            CAPTURE(bad);
            const Threads t(threads);
            std::vector<std::atomic<int>> calls(nchunks);
            const auto e = thrown_by(n, chunk, [&](std::size_t c, std::size_t, std::size_t) {
                ++calls[c];
                if (c == bad) throw NumericError("chunk " + std::to_string(c) + ": NaN");
            });
            REQUIRE(e);
            CHECK(type_of(e) == name_of<NumericError>());
            CHECK(message_of(e) == "chunk " + std::to_string(bad) + ": NaN");
            // Caught as the base class the CLI maps to an exit code, with that code.
            try {
                std::rethrow_exception(e);
            } catch (const Error& x) {
                CHECK(x.code() == ExitCode::numeric);
            } catch (...) {
                FAIL("not an fq::Error");
            }
            // The exception stops nothing: every chunk still ran, exactly once (the lowest
            // index rule below can only be deterministic if all chunks run).
            for (std::size_t c = 0; c < nchunks; ++c) CHECK(calls[c].load() == 1);
        }
    }
    // The same through the public CHECK_THROWS macros, as a caller would write it.
    const Threads t(2);
    CHECK_THROWS_WITH_AS(core::parallel_chunks(50, 7,
                                               [](std::size_t c, std::size_t, std::size_t) {
                                                   if (c == 3) throw IoError("cannot open x.h5");
                                               }),
                         "cannot open x.h5", IoError);
}

TEST_CASE("parallel_chunks: when several chunks throw, the lowest chunk index wins") {
    // Chunks 3, 41 and 97 throw different types. With 2 threads, chunk 3 first waits until
    // 41 and 97 have thrown on the other thread, so the lowest index is also the last to
    // throw: the result must not depend on which exception was captured first.
    constexpr std::size_t n = 1000, chunk = 10;
    for (int threads : {1, 2}) {
        for (int rep = 0; rep < 5; ++rep) {
            CAPTURE(threads);
            CAPTURE(rep);
            const Threads t(threads);
            std::atomic<int> higher_thrown{0};
            bool waited = false;
            const auto e = thrown_by(n, chunk, [&](std::size_t c, std::size_t, std::size_t) {
                if (c == 3) {
                    if (threads > 1) {
                        const auto deadline =
                            std::chrono::steady_clock::now() + std::chrono::seconds(10);
                        while (higher_thrown.load() < 2 &&
                               std::chrono::steady_clock::now() < deadline)
                            std::this_thread::yield();
                        waited = higher_thrown.load() == 2;
                    }
                    throw CorruptError("chunk 3: bad checksum");
                }
                if (c == 41) {
                    ++higher_thrown;
                    throw IoError("chunk 41: cannot read");
                }
                if (c == 97) {
                    ++higher_thrown;
                    throw UsageError("chunk 97: bad option");
                }
            });
            REQUIRE(e);
            CHECK(type_of(e) == name_of<CorruptError>());
            CHECK(message_of(e) == "chunk 3: bad checksum");
            if (threads > 1) CHECK(waited);  // the higher chunks really threw first
        }
    }
    // The rule ignores the exception's type: a std::bad_alloc in chunk 0 wins over an
    // fq::Error in chunk 1, and a std::runtime_error in chunk 2 over fq::Errors after it.
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        const Threads t(threads);
        const auto e = thrown_by(100, 10, [](std::size_t c, std::size_t, std::size_t) {
            if (c == 0) throw std::bad_alloc();
            if (c >= 1) throw UsageError("chunk " + std::to_string(c));
        });
        REQUIRE(e);
        CHECK(type_of(e) == name_of<std::bad_alloc>());
        const auto f = thrown_by(100, 10, [](std::size_t c, std::size_t, std::size_t) {
            if (c == 2) throw std::runtime_error("chunk 2: plain runtime_error");
            if (c > 2) throw NumericError("chunk " + std::to_string(c));
        });
        REQUIRE(f);
        CHECK(type_of(f) == name_of<std::runtime_error>());
        CHECK(message_of(f) == "chunk 2: plain runtime_error");
    }
}

TEST_CASE("parallel_chunks: std::runtime_error, std::bad_alloc and non-std types pass through") {
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        const Threads t(threads);
        // A std::runtime_error that is not an fq::Error stays what it is.
        const auto r = thrown_by(64, 8, [](std::size_t c, std::size_t, std::size_t) {
            if (c == 5) throw std::runtime_error("plain failure");
        });
        REQUIRE(r);
        CHECK(type_of(r) == name_of<std::runtime_error>());
        CHECK(message_of(r) == "plain failure");
        bool is_fq_error = false;
        try {
            std::rethrow_exception(r);
        } catch (const Error&) {
            is_fq_error = true;
        } catch (const std::runtime_error&) {
        }
        CHECK_FALSE(is_fq_error);

        CHECK_THROWS_AS(core::parallel_chunks(64, 8,
                                              [](std::size_t c, std::size_t, std::size_t) {
                                                  if (c == 7) throw std::bad_alloc();
                                              }),
                        std::bad_alloc);
        // A real allocation failure inside a chunk (a request no allocator can satisfy).
        // Not under AddressSanitizer, whose allocator aborts on such a request by design.
#if !defined(__SANITIZE_ADDRESS__)
        CHECK_THROWS_AS(
            core::parallel_chunks(64, 8,
                                  [](std::size_t c, std::size_t, std::size_t) {
                                      // operator new called directly: a
                                      // new-expression could be elided.
                                      if (c == 2)
                                          ::operator delete(::operator new (std::size_t{1} << 62));
                                  }),
            std::bad_alloc);
#endif
        // Anything, not only std::exception: catch (...) captures it too.
        CHECK_THROWS_AS(core::parallel_chunks(64, 8,
                                              [](std::size_t c, std::size_t, std::size_t) {
                                                  if (c == 1) throw 42;
                                              }),
                        int);
    }
}
