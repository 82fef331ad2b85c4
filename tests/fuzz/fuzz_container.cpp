// libFuzzer target: a container, byte for byte from the fuzzer, through everything fq-decode
// does (open, header checksum, attributes, codebooks, windows, block checksums, decoding,
// writing the dump). Any fq::Error is a refusal, which is fine; a crash, a sanitizer report,
// a leak or a timeout is a bug. Built with -DFQ_LIBFUZZER=ON by clang (bench/README.md
// "Fuzzing"); the seed corpus is the golden containers in tests/golden/.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "fq/core/error.hpp"
#include "fq/tasks/decode.hpp"

namespace {
std::string scratch(const char* name) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/fq-libfuzzer-" +
           std::to_string(::getpid()) + "-" + name;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string in = scratch("in.fq.h5"), out = scratch("out.h5");
    if (std::FILE* f = std::fopen(in.c_str(), "wb")) {
        if (size > 0) std::fwrite(data, 1, size, f);
        std::fclose(f);
    } else {
        return 0;
    }
    fq::tasks::DecodeOptions opts;
    opts.input = in;
    opts.output = out;
    opts.threads = 1;
    opts.force = true;
    opts.verbosity = -1;
    opts.codebook_dir = "/nonexistent";  // only what the container embeds
    try {
        fq::tasks::run_decode(opts);
    } catch (const fq::Error&) {
    }
    std::error_code ec;
    std::filesystem::remove(out, ec);
    return 0;
}
