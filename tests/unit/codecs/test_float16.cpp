// codecs/float16: the uncompressed reference codec against core::float_to_half written out
// per value; exact round trip of float16 values; out-of-range values refused; the registry
// builds it from "float16".
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "fq/codecs/float16.hpp"
#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/io/codec_factory.hpp"

#include "test_support.hpp"

using namespace fq;

TEST_SUITE("float16") {
    TEST_CASE("codes are the binary16 values: decode is exact for float16 input") {
        const codecs::Float16Codec c(8);
        CHECK(c.code_bytes() == 16);
        CHECK(c.code_bits() == 128);
        CHECK(c.rate() == 16);
        const std::vector<float> x = test::randn(3 * 8, 5, 10.0f);
        std::vector<std::uint8_t> codes(3 * 16);
        c.encode(x.data(), 3, codes.data());
        std::vector<float> y(x.size());
        c.decode(codes.data(), 3, y.data());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const std::uint16_t h = core::float_to_half(x[i]);
            CHECK(codes[2 * i] == (h & 0xFF));
            CHECK(codes[2 * i + 1] == (h >> 8));
            CHECK(y[i] == core::half_to_float(h));
        }
        std::vector<float> z(y.size());  // float16 values round-trip exactly
        c.encode(y.data(), 3, codes.data());
        c.decode(codes.data(), 3, z.data());
        CHECK(z == y);
        const std::vector<float> big(8, 70000.0f);
        CHECK_THROWS_AS(c.encode(big.data(), 1, codes.data()), NumericError);
    }

    TEST_CASE("the registry builds it") {
        io::CodebookStore store;
        const io::BuiltCodec b = io::make_codec(io::parse_codec_spec("float16", 64, store), store,
                                                "t", ExitCode::usage, 64);
        CHECK(b.codec->family() == "float16");
        CHECK(b.description == nlohmann::ordered_json{{"codec", "float16"}});
        CHECK(b.codebook_hash().empty());
        CHECK_THROWS_AS(
            io::make_codec({{"codec", "float16"}, {"bits", 8}}, store, "t", ExitCode::usage, 64),
            UsageError);
    }
}
