// io/sequences and the batch axis of io/kv_dump: the sequences of a dump from --segment-len,
// segment_id (contiguous or not, per row), a batch axis, or none; batched [batch, heads,
// tokens, d] datasets read and written through slabs that cross batch rows, against a plain
// index computation written here.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump.hpp"
#include "fq/io/sequences.hpp"

#include "test_support.hpp"

using namespace fq;
using fq::test::TempDir;

namespace {

// [B, H, T, d] with x[b][h][t][i] = 1000 b + 100 h + t + i / 100.
float value(int b, int h, int t, int i) {
    return 1000.0f * b + 100.0f * h + t + i / 100.0f;
}

// A dump with layer_0/k stored bhtd (B x H x T x d), written through the concatenated
// token axis in slabs of 7 tokens (crossing rows), plus an optional segment_id.
std::string write_batched(const std::string& path, int B, int H, int T, int d,
                          const std::vector<std::int32_t>& segment_id = {}) {
    {
        io::KvDumpWriter w(path);
        w.create("layer_0/k", H, static_cast<std::int64_t>(B) * T, d, "float32", "bhtd", B);
        for (std::int64_t t0 = 0; t0 < static_cast<std::int64_t>(B) * T; t0 += 7) {
            const std::int64_t t1 =
                std::min<std::int64_t>(t0 + 7, static_cast<std::int64_t>(B) * T);
            std::vector<float> x;
            for (int h = 0; h < H; ++h)
                for (std::int64_t t = t0; t < t1; ++t)
                    for (int i = 0; i < d; ++i)
                        x.push_back(value(static_cast<int>(t / T), h, static_cast<int>(t % T), i));
            w.write("layer_0/k", io::Slab{0, H, t0, t1}, x.data());
        }
        w.commit();
    }
    if (!segment_id.empty()) {
        io::h5::File f = io::h5::open_file(path, true);
        io::h5::Dataset ds =
            io::h5::create_dataset(f.id(), "segment_id", H5T_STD_I32LE, {segment_id.size()});
        io::h5::write_slab(ds.id(), H5T_NATIVE_INT32, {0}, {segment_id.size()}, segment_id.data());
        ds = {};
        io::h5::close_file(f);
    }
    return path;
}

}  // namespace

TEST_SUITE("sequences") {
    TEST_CASE("batched datasets: shape, and slabs across batch rows read what was written") {
        TempDir tmp;
        const int B = 3, H = 2, T = 10, d = 4;
        const io::KvDumpReader r(write_batched(tmp / "b.h5", B, H, T, d));
        const io::DatasetInfo info = r.datasets().at(0);
        CHECK(info.axes == "bhtd");
        CHECK(info.dims == std::vector<std::uint64_t>{3, 2, 10, 4});
        CHECK(info.batch == 3);
        CHECK(info.batch_tokens == 10);
        CHECK(info.tokens == 30);
        CHECK(info.heads == 2);
        for (const auto& [t0, t1] :
             {std::pair{0, 30}, std::pair{8, 23}, std::pair{10, 20}, std::pair{19, 21}}) {
            CAPTURE(t0);
            CAPTURE(t1);
            const auto x = r.read(info, io::Slab{1, 2, t0, t1});
            std::vector<float> want;
            for (int t = t0; t < t1; ++t)
                for (int i = 0; i < d; ++i) want.push_back(value(t / T, 1, t % T, i));
            CHECK(x == want);
        }
        CHECK_THROWS_AS(io::AxisOrder("bbtd"), UsageError);
        CHECK(io::AxisOrder("bthd").has_batch());
        CHECK(io::AxisOrder("htd").with_batch().str() == "bhtd");
    }

    TEST_CASE("sources: option, segment_id, batch axis, none") {
        TempDir tmp;
        // Batch axis: one sequence per row.
        {
            const io::KvDumpReader r(write_batched(tmp / "b.h5", 3, 1, 4, 2));
            const io::Sequences s = io::find_sequences(r, r.datasets().at(0));
            CHECK(s.source == "batch axis");
            CHECK(s.tokens == std::vector<std::vector<std::int64_t>>{
                                  {0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}});
            CHECK(s.contiguous());
            // --segment-len runs stay within rows.
            const io::Sequences o = io::find_sequences(r, r.datasets().at(0), 3);
            CHECK(o.source == "--segment-len 3");
            CHECK(o.tokens == std::vector<std::vector<std::int64_t>>{
                                  {0, 1, 2}, {3}, {4, 5, 6}, {7}, {8, 9, 10}, {11}});
        }
        // segment_id, interleaved (not contiguous), one row.
        {
            const io::KvDumpReader r(write_batched(tmp / "s.h5", 1, 1, 6, 2, {7, 3, 7, 3, 3, 9}));
            const io::Sequences s = io::find_sequences(r, r.datasets().at(0));
            CHECK(s.source == "segment_id");
            CHECK(s.tokens == std::vector<std::vector<std::int64_t>>{{0, 2}, {1, 3, 4}, {5}});
            CHECK(!s.contiguous());
            CHECK(io::describe(s) == "3 sequences (segment_id)");
        }
        // segment_id of one row shared by every batch row.
        {
            const io::KvDumpReader r(write_batched(tmp / "r.h5", 2, 1, 4, 2, {0, 0, 1, 1}));
            const io::Sequences s = io::find_sequences(r, r.datasets().at(0));
            CHECK(s.source == "segment_id within batch rows");
            CHECK(s.tokens ==
                  std::vector<std::vector<std::int64_t>>{{0, 1}, {2, 3}, {4, 5}, {6, 7}});
        }
        // A segment_id that does not fit the token axis is refused.
        {
            const io::KvDumpReader r(write_batched(tmp / "x.h5", 1, 1, 4, 2, {0, 0, 1}));
            CHECK_THROWS_AS(io::find_sequences(r, r.datasets().at(0)), CorruptError);
        }
        // None: one sequence.
        {
            const io::KvDumpReader r(write_batched(tmp / "n.h5", 1, 1, 5, 2));
            const io::Sequences s = io::find_sequences(r, r.datasets().at(0));
            CHECK(s.source == "none");
            CHECK(s.count() == 1);
            CHECK(io::describe(s) == "1 sequence (none)");
        }
    }
}
