// Tests of io/kv_dump, io/kv_dump_writer, io/hdf5_util and io/hdf5_attr: the shipped real
// dump (checked against numbers read independently with h5py and with h5dump), dumps
// written by scripts/write_kv_dump.py with Debian's python3-h5py (float16, float32,
// bfloat16; htd and thd), writer round trips, attribute copies, byte-identical output (no
// HDF5 object times) and every error path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/core/half.hpp"
#include "fq/io/hdf5_util.hpp"
#include "fq/io/kv_dump.hpp"

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace fq;
using namespace fq::io;
using fq::test::TempDir;

namespace {

const std::string k_source = FQ_SOURCE_DIR;
const std::string k_sample = k_source + "/data/sample_kv_d64.h5";
const std::string k_script = k_source + "/scripts/write_kv_dump.py";

// Debian's python3 with python3-h5py (FQ_PYTHON overrides; a pyenv python3 first on PATH
// may lack h5py).
std::string python() {
    if (const char* p = std::getenv("FQ_PYTHON")) return p;
    return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

int run(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str());
}

std::string capture(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
    return out;
}

// The numbers h5dump prints in the DATA block of a subset dump.
std::vector<double> h5dump_values(const std::string& out) {
    std::vector<double> v;
    std::size_t pos = out.find("DATA {");
    REQUIRE(pos != std::string::npos);
    pos = out.find("): ", pos);
    const std::size_t end = out.find('}', pos);
    std::string body = out.substr(pos + 3, end - pos - 3);
    for (char& c : body)
        if (c == ',') c = ' ';
    const char* s = body.c_str();
    char* e = nullptr;
    for (double x = std::strtod(s, &e); e != s; x = std::strtod(s, &e)) {
        v.push_back(x);
        s = e;
    }
    return v;
}

const DatasetInfo& find(const KvDumpReader& r, const std::string& path) {
    for (const DatasetInfo& i : r.datasets())
        if (i.path == path) return i;
    FAIL("dataset not selected: " << path);
    throw;
}

std::string message_of(const auto& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

// How many y[j] differ from the float16 value of bits[j]: NaN must stay NaN, and every
// other value (zeros included) keep its value and sign.
std::size_t half_mismatches(const std::vector<std::uint16_t>& bits, const std::vector<float>& y) {
    std::size_t differs = 0;
    for (std::size_t j = 0; j < bits.size(); ++j) {
        const float e = core::half_to_float(bits[j]);
        differs +=
            std::isnan(e) ? !std::isnan(y[j]) : y[j] != e || std::signbit(y[j]) != std::signbit(e);
    }
    return differs;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The largest time (access, modification, change, birth) the object at `path` records; 0
// when HDF5 tracks none for it.
long long object_time(hid_t loc, const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    REQUIRE(H5Oget_info_by_name3(loc, path.c_str(), &info, H5O_INFO_TIME, H5P_DEFAULT) >= 0);
#else
    H5O_info_t info;
    REQUIRE(H5Oget_info_by_name(loc, path.c_str(), &info, H5P_DEFAULT) >= 0);
#endif
    return std::max({static_cast<long long>(info.atime), static_cast<long long>(info.mtime),
                     static_cast<long long>(info.ctime), static_cast<long long>(info.btime)});
}

// A dump written the way fq-decode writes one: vector datasets in several dtypes and axis
// orders (nested parents made by create()), attributes copied from the sample, its
// non-vector datasets copied, a group made by h5::create_group.
void write_fixed_dump(const std::string& file, const KvDumpReader& src) {
    const int H = 2, T = 40, D = 8;
    std::vector<float> x(static_cast<std::size_t>(H) * T * D);
    for (std::size_t j = 0; j < x.size(); ++j)
        x[j] = static_cast<float>(std::cos(0.11 * static_cast<double>(j)));
    KvDumpWriter w(file);
    w.copy_attributes(src, "/", "/");
    w.create("layer_0/k", H, T, D, "float32");
    w.create("layer_10/v", H, T, D, "float16", "thd");
    w.create("model/blocks.3/key", H, T, D, "bfloat16");
    w.write("layer_0/k", Slab{0, H, 0, T}, x.data());
    w.write("layer_10/v", Slab{0, H, 0, T}, x.data());
    w.write("model/blocks.3/key", Slab{0, H, 0, T}, x.data());
    w.copy_attributes(src, "layer_0/k", "layer_0/k");
    w.copy_attributes(src, "layer_0", "layer_0");
    const h5::Group g = h5::create_group(static_cast<hid_t>(w.file_id()), "meta/run");
    h5::write_attr_string(g.id(), "note", "fixed");
    for (const std::string& name : src.other_datasets()) w.copy_dataset(src, name);
    w.commit();
}

}  // namespace

TEST_SUITE("kv_dump") {
    TEST_CASE("sample_kv_d64: info without reading") {
        const KvDumpReader r(k_sample);
        REQUIRE(r.datasets().size() == 15);  // 5 layers x q, k, v
        CHECK(r.datasets()[0].path == "layer_0/k");
        CHECK(r.datasets()[14].path == "layer_4/v");
        CHECK(r.other_datasets() ==
              std::vector<std::string>{"positions", "segment_id", "token_ids"});
        const DatasetInfo& k = find(r, "layer_0/k");
        CHECK(k.dims == std::vector<std::uint64_t>{2, 512, 64});
        CHECK(k.dtype == "float16");
        CHECK(k.heads == 2);
        CHECK(k.tokens == 512);
        CHECK(k.d == 64);
        CHECK(k.kind == KvKind::k);
        CHECK(k.layer == 0);
        const DatasetInfo& q = find(r, "layer_3/q");
        CHECK(q.heads == 4);
        CHECK(q.kind == KvKind::q);
        CHECK(q.layer == 3);
        CHECK(find(r, "layer_4/v").kind == KvKind::v);
        const auto root = static_cast<hid_t>(r.file_id());
        CHECK(h5::read_attr_int(root, "head_dim") == 64);
        CHECK(h5::read_attr_int(root, "n_kv_heads") == 2);
        CHECK(h5::read_attr_int(root, "q_k_after_rope") == 1);  // h5py bool (enum)
        CHECK(h5::read_attr_double(root, "validation_perplexity") ==
              doctest::Approx(4.573887669020781).epsilon(1e-15));
        CHECK(h5::read_attr_string(root, "storage_dtype") == "float16");
    }

    TEST_CASE("sample_kv_d64: values equal an independent h5py read") {
        const KvDumpReader r(k_sample);
        // Exact float16 values printed by h5py (numpy float16 -> float).
        const auto k0 = r.read(find(r, "layer_0/k"), Slab{0, 1, 0, 1});
        REQUIRE(k0.size() == 64);
        CHECK(k0[0] == -1.5478515625f);
        CHECK(k0[1] == -1.3271484375f);
        CHECK(k0[2] == 1.5107421875f);
        CHECK(k0[3] == 0.5400390625f);
        const auto v3 = r.read(find(r, "layer_3/v"), Slab{1, 2, 511, 512});
        CHECK(v3[60] == -0.9482421875f);
        CHECK(v3[61] == -0.49072265625f);
        CHECK(v3[62] == 0.72900390625f);
        CHECK(v3[63] == -0.513671875f);
        CHECK(r.read(find(r, "layer_2/q"), Slab{3, 4, 100, 101})[7] == -0.55908203125f);
        // Whole-dataset sums from h5py (float64 accumulation).
        const auto k4 = r.read_all(find(r, "layer_4/k"));
        double sum = 0, abs_sum = 0;
        for (float x : k4) sum += x, abs_sum += std::fabs(x);
        CHECK(sum == doctest::Approx(318.2140377163887).epsilon(1e-12));
        CHECK(abs_sum == doctest::Approx(75007.43226033449).epsilon(1e-12));
    }

    TEST_CASE("sample_kv_d64: values equal h5dump (HDF5's own float16 conversion)") {
        const KvDumpReader r(k_sample);
        const std::string out =
            capture("h5dump -w 0 -d /layer_1/v -s \"1,37,0\" -c \"1,1,64\" " + k_sample + " 2>&1");
        const std::vector<double> ref = h5dump_values(out);
        REQUIRE(ref.size() == 64);
        const auto x = r.read(find(r, "layer_1/v"), Slab{1, 2, 37, 38});
        for (std::size_t i = 0; i < 64; ++i)  // h5dump prints 6 significant digits
            CHECK(x[i] == doctest::Approx(ref[i]).epsilon(1e-5));
        CHECK(x[0] == 0.376708984375f);  // h5py
    }

    TEST_CASE("sample_kv.h5 (float32, d = 8)") {
        const KvDumpReader r(k_source + "/data/sample_kv.h5");
        const DatasetInfo& q = find(r, "layer_1/q");
        CHECK(q.dtype == "float32");
        CHECK(q.heads == 8);
        CHECK(find(r, "layer_1/k").heads == 4);
        CHECK(q.d == 8);
        const auto x = r.read(q, Slab{7, 8, 511, 512});
        CHECK(x[0] == -1.336039662361145f);
        CHECK(x[1] == 0.6552772521972656f);
        CHECK(x[2] == -1.4186460971832275f);
    }

    TEST_CASE("hyperslab read equals the same slice of a full read") {
        const KvDumpReader r(k_sample);
        for (const std::string name : {"layer_2/k", "layer_0/q"}) {
            const DatasetInfo& info = find(r, name);
            const auto full = r.read_all(info);
            REQUIRE(full.size() == static_cast<std::size_t>(info.heads) * 512 * 64);
            const Slab s{1, info.heads, 100, 301};
            const auto part = r.read(info, s);
            REQUIRE(part.size() == s.vectors() * 64);
            std::size_t mismatches = 0;
            for (int h = s.h0; h < s.h1; ++h)
                for (std::int64_t t = s.t0; t < s.t1; ++t)
                    for (int i = 0; i < 64; ++i)
                        mismatches += part[((h - s.h0) * s.tokens() + (t - s.t0)) * 64 + i] !=
                                      full[(h * 512 + t) * 64 + i];
            CHECK(mismatches == 0);
        }
        // An empty slab reads nothing; one outside the dataset is a usage error.
        CHECK(r.read(find(r, "layer_0/k"), Slab{0, 0, 0, 0}).empty());
        CHECK_THROWS_AS(r.read(find(r, "layer_0/k"), Slab{0, 3, 0, 1}), UsageError);
        CHECK_THROWS_AS(r.read(find(r, "layer_0/k"), Slab{0, 1, 500, 513}), UsageError);
    }

    TEST_CASE("python-written dumps: float16, float32, bfloat16, htd and thd") {
        TempDir tmp;
        for (const std::string dtype : {"float16", "float32", "bfloat16"}) {
            std::vector<std::vector<float>> by_layout[2];
            for (int l = 0; l < 2; ++l) {
                const std::string layout = l == 0 ? "htd" : "thd";
                const std::string file = tmp / (dtype + "_" + layout + ".h5");
                REQUIRE(run(python() + " " + k_script + " --synthetic -o " + file + " --dtype " +
                            dtype + " --layout " + layout +
                            " --layers 2 --heads 4 --kv-heads 2 --tokens 40 --head-dim 16"
                            " --seed 7 --with-reference") == 0);
                const KvDumpReader r(file, KvDumpLayout{{}, layout, "", "", ""});
                REQUIRE(r.datasets().size() == 6);
                for (const DatasetInfo& info : r.datasets()) {
                    CAPTURE(file);
                    CAPTURE(info.path);
                    CHECK(info.dtype == dtype);
                    CHECK(info.tokens == 40);
                    CHECK(info.d == 16);
                    CHECK(info.heads == (info.kind == KvKind::q ? 4 : 2));
                    const auto x = r.read_all(info);
                    // The references are always stored [heads, tokens, d].
                    const auto ref = r.read_all(r.info("reference/" + info.path, "htd"));
                    const auto seen = r.read_all(r.info("reference_stored/" + info.path, "htd"));
                    REQUIRE(x.size() == ref.size());
                    // The rounding of the storage dtype, and no more: half an ulp of 11 or 8
                    // significant bits. numpy's rounding and ours agree bit for bit.
                    const double rel = dtype == "float32"   ? 0
                                       : dtype == "float16" ? 0x1p-11
                                                            : 0x1p-8;
                    std::size_t bad = 0, differs_from_numpy = 0, differs_from_ours = 0;
                    for (std::size_t j = 0; j < x.size(); ++j) {
                        bad += std::fabs(x[j] - ref[j]) > rel * std::fabs(ref[j]) + 1e-30;
                        differs_from_numpy += x[j] != seen[j];
                        const float ours =
                            dtype == "float16" ? core::half_to_float(core::float_to_half(ref[j]))
                            : dtype == "bfloat16"
                                ? core::bfloat16_to_float(core::float_to_bfloat16(ref[j]))
                                : ref[j];
                        differs_from_ours += x[j] != ours;
                    }
                    CHECK(bad == 0);
                    CHECK(differs_from_numpy == 0);
                    CHECK(differs_from_ours == 0);
                    by_layout[l].push_back(x);
                }
                CHECK(r.other_datasets().size() == 15);  // 12 references + 3 token datasets
            }
            CHECK(by_layout[0] == by_layout[1]);  // thd reads identical to htd
        }
    }

    TEST_CASE("thd slab read and 2-D td datasets") {
        TempDir tmp;
        const std::string file = tmp / "thd.h5";
        REQUIRE(run(python() + " " + k_script + " --synthetic -o " + file +
                    " --dtype float32 --layout thd --layers 1 --tokens 30 --head-dim 8 "
                    "--with-reference") == 0);
        const KvDumpReader r(file, KvDumpLayout{{}, "thd", "", "", ""});
        const DatasetInfo& q = find(r, "layer_0/q");
        CHECK(q.dims == std::vector<std::uint64_t>{30, 4, 8});
        CHECK(q.heads == 4);
        const auto full = r.read_all(q);
        const Slab s{1, 3, 10, 17};
        const auto part = r.read(q, s);
        const auto ref = r.read_all(r.info("reference/layer_0/q", "htd"));
        CHECK(full == ref);
        std::size_t mismatches = 0;
        for (int h = s.h0; h < s.h1; ++h)
            for (std::int64_t t = s.t0; t < s.t1; ++t)
                for (int i = 0; i < 8; ++i)
                    mismatches += part[((h - s.h0) * s.tokens() + (t - s.t0)) * 8 + i] !=
                                  full[(h * 30 + t) * 8 + i];
        CHECK(mismatches == 0);

        // "td": one head, selected by a glob.
        const std::string file2 = tmp / "td.h5";
        std::vector<float> x(5 * 3);
        for (std::size_t j = 0; j < x.size(); ++j) x[j] = static_cast<float>(j) - 4.5f;
        {
            KvDumpWriter w(file2);
            w.create("model/layers.7/key", 1, 5, 3, "float32", "td");
            w.write("model/layers.7/key", Slab{0, 1, 0, 5}, x.data());
            w.commit();
        }
        const KvDumpReader r2(file2, KvDumpLayout{{"model/layers.*/key"}, "td", "", "", ""});
        REQUIRE(r2.datasets().size() == 1);
        const DatasetInfo& k = r2.datasets()[0];
        CHECK(k.heads == 1);
        CHECK(k.tokens == 5);
        CHECK(k.kind == KvKind::k);
        CHECK(k.layer == 7);
        CHECK(r2.read_all(k) == x);
        CHECK(r2.read(k, Slab{0, 1, 2, 3}) == std::vector<float>{1.5f, 2.5f, 3.5f});
    }

    TEST_CASE("writer round trip: float32 exact, float16 and bfloat16 rounded, h5py agrees") {
        TempDir tmp;
        const int H = 3, T = 50, D = 12;
        std::vector<float> x(static_cast<std::size_t>(H) * T * D);
        for (std::size_t j = 0; j < x.size(); ++j)
            x[j] =
                static_cast<float>(std::sin(0.37 * static_cast<double>(j)) * 1e-3 * (1 + j % 97));
        x[5] = 7e-8f;  // a float16 subnormal
        for (const std::string dtype : {"float32", "float16", "bfloat16", "float64"})
            for (const std::string axes : {"htd", "thd", "dth"}) {
                CAPTURE(dtype);
                CAPTURE(axes);
                const std::string file = tmp / ("w_" + dtype + "_" + axes + ".h5");
                {
                    KvDumpWriter w(file);
                    w.create("layer_0/k", H, T, D, dtype, axes);
                    // Two slabs written out of order, splitting heads and tokens.
                    const Slab a{0, H, 20, T}, b{0, H, 0, 20};
                    for (const Slab& s : {a, b}) {
                        std::vector<float> part;
                        for (int h = s.h0; h < s.h1; ++h)
                            for (std::int64_t t = s.t0; t < s.t1; ++t)
                                for (int i = 0; i < D; ++i) part.push_back(x[(h * T + t) * D + i]);
                        w.write("layer_0/k", s, part.data());
                    }
                    CHECK_FALSE(fs::exists(file));  // still under its temporary name
                    w.commit();
                }
                REQUIRE(fs::exists(file));
                const KvDumpReader r(file, KvDumpLayout{{}, axes, "", "", ""});
                const DatasetInfo& info = find(r, "layer_0/k");
                CHECK(info.dtype == dtype);
                const auto y = r.read_all(info);
                std::size_t differs = 0;
                for (std::size_t j = 0; j < x.size(); ++j) {
                    const float expect =
                        dtype == "float16" ? core::half_to_float(core::float_to_half(x[j]))
                        : dtype == "bfloat16"
                            ? core::bfloat16_to_float(core::float_to_bfloat16(x[j]))
                            : x[j];
                    differs += y[j] != expect;
                    if (dtype == "float16")
                        CHECK(std::fabs(y[j] - x[j]) <= 0x1p-11 * std::fabs(x[j]) + 0x1p-25);
                }
                CHECK(differs == 0);
            }
        // h5py reads the writer's float16 as numpy float16, with the same values.
        const std::string out =
            capture(python() +
                    " -c \"import h5py,sys; d=h5py.File(sys.argv[1],'r')['layer_0/k']; "
                    "print(d.dtype, d.shape, repr(float(d[2,31,5])))\" " +
                    (tmp / "w_float16_htd.h5") + " 2>&1");
        const float expect = core::half_to_float(core::float_to_half(x[(2 * T + 31) * D + 5]));
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(expect));
        CHECK(out.rfind("float16 (3, 50, 12) ", 0) == 0);
        CHECK(std::strtod(out.c_str() + 20, nullptr) == static_cast<double>(expect));
    }

    TEST_CASE("writer copies attributes and non-vector datasets") {
        TempDir tmp;
        const std::string file = tmp / "copy.h5";
        const KvDumpReader src(k_sample);
        {
            KvDumpWriter w(file);
            w.create("layer_0/k", 2, 512, 64, "bfloat16");
            w.copy_attributes(src, "/", "/");
            w.copy_attributes(src, "layer_0/k", "layer_0/k");
            for (const std::string& name : src.other_datasets()) w.copy_dataset(src, name);
            w.commit();
        }
        const KvDumpReader r(file);
        const auto root = static_cast<hid_t>(r.file_id());
        const auto sroot = static_cast<hid_t>(src.file_id());
        CHECK(h5::list_attrs(root) == h5::list_attrs(sroot));
        CHECK(h5::list_attrs(root).size() >= 20);
        CHECK(h5::read_attr_int(root, "n_layers") == 5);
        CHECK(h5::read_attr_int(root, "q_k_after_rope") == 1);
        CHECK(h5::read_attr_double(root, "validation_perplexity") == 4.573887669020781);
        CHECK(h5::read_attr_string(root, "model_name") ==
              h5::read_attr_string(sroot, "model_name"));
        CHECK(find(r, "layer_0/k").dtype == "bfloat16");  // dtype attribute kept, not overwritten
        CHECK(r.other_datasets() == src.other_datasets());
        std::vector<std::int32_t> ids(512);
        const h5::Dataset ds = h5::open_dataset(root, "token_ids");
        h5::read_slab(ds.id(), H5T_NATIVE_INT32, {}, {}, ids.data());
        CHECK(ids[0] == 1);
        CHECK(ids[1] == 403);
        CHECK(ids[4] == 378);
    }

    TEST_CASE("writer output is byte-identical for the same data: no HDF5 object times") {
        TempDir tmp;
        const KvDumpReader src(k_sample);
        write_fixed_dump(tmp / "a.h5", src);
        write_fixed_dump(tmp / "b.h5", src);
        const std::string a = file_bytes(tmp / "a.h5");
        CHECK(a.size() > 10000);
        CHECK(a == file_bytes(tmp / "b.h5"));
        // Times would only differ across a second boundary: check there are none at all.
        const h5::File f = h5::open_file(tmp / "a.h5");
        for (const char* path :
             {"/", "layer_0", "layer_0/k", "layer_10", "layer_10/v", "model", "model/blocks.3",
              "model/blocks.3/key", "meta", "meta/run", "token_ids", "positions", "segment_id"}) {
            CAPTURE(path);
            CHECK(object_time(f.id(), path) == 0);
        }
    }

    TEST_CASE("groups, datasets and copies made by hdf5_util record no times") {
        // In a file with the latest format bounds every object header can hold times (with
        // the default, earliest, bounds only datasets do): HDF5's defaults record them, so
        // this checks that every object made here asks for none.
        TempDir tmp;
        const std::string timed = tmp / "timed.h5", out = tmp / "out.h5";
        auto create_latest = [](const std::string& path) {
            const h5::PropList fapl(H5Pcreate(H5P_FILE_ACCESS));
            REQUIRE(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0);
            h5::File f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()));
            REQUIRE(f.valid());
            return f;
        };
        {
            const h5::File f = create_latest(timed);
            const hsize_t n = 4;
            const h5::Dataspace s(H5Screate_simple(1, &n, nullptr));
            const h5::Dataset d(H5Dcreate2(f.id(), "ids", H5T_STD_I32LE, s.id(), H5P_DEFAULT,
                                           H5P_DEFAULT, H5P_DEFAULT));
            REQUIRE(d.valid());
        }
        const h5::File src = h5::open_file(timed);
        const long long t = object_time(src.id(), "ids");
        CHECK(t > 0);  // HDF5's default
        CHECK(object_time(src.id(), "/") > 0);
        {
            const h5::File f = create_latest(out);
            h5::create_group(f.id(), "g/h");
            h5::create_dataset(f.id(), "g/i/x", H5T_IEEE_F32LE, {2, 3});
            h5::copy_dataset(src.id(), "ids", f.id(), "a/b/ids");
            h5::File g = h5::create_file(tmp / "made.h5");
            h5::close_file(g);
        }
        const h5::File f = h5::open_file(out);
        for (const char* path : {"g", "g/h", "g/i", "g/i/x", "a", "a/b"}) {
            CAPTURE(path);
            CHECK(object_time(f.id(), path) == 0);
        }
        // copy_dataset copies by value into an untimed dataset: no time either.
        CHECK(object_time(f.id(), "a/b/ids") == 0);
        CHECK(object_time(h5::open_file(tmp / "made.h5").id(), "/") == 0);
    }

    TEST_CASE("copy_dataset: values, chunking and filters, attributes as fixed-length strings") {
        TempDir tmp;
        const std::string a = tmp / "a.h5", b = tmp / "b.h5";
        std::vector<float> values(5 * 7);
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i] = 0.25f * static_cast<float>(i) - 3;
        {
            h5::File f = h5::create_file(a);
            const hsize_t dims[2] = {5, 7}, chunk[2] = {2, 7};
            h5::Dataspace sp(H5Screate_simple(2, dims, nullptr));
            h5::PropList dcpl(H5Pcreate(H5P_DATASET_CREATE));
            REQUIRE(H5Pset_chunk(dcpl.id(), 2, chunk) >= 0);
            REQUIRE(H5Pset_deflate(dcpl.id(), 4) >= 0);
            h5::Dataset d(H5Dcreate2(f.id(), "x", H5T_IEEE_F32LE, sp.id(), H5P_DEFAULT, dcpl.id(),
                                     H5P_DEFAULT));
            REQUIRE(d.valid());
            h5::write_slab(d.id(), H5T_NATIVE_FLOAT, {}, {}, values.data());
            h5::write_attr_string(d.id(), "note", "tokens of the prompt");
            h5::write_attr_int(d.id(), "n", 5);
            h5::close_file(f);
        }
        {
            const h5::File src = h5::open_file(a);
            h5::File f = h5::create_file(b);
            h5::copy_dataset(src.id(), "x", f.id(), "g/x", /*fixed_string_attrs=*/true);
            h5::close_file(f);
        }
        const h5::File f = h5::open_file(b);
        const h5::Dataset d = h5::open_dataset(f.id(), "g/x");
        CHECK(h5::dataset_dims(d.id()) == std::vector<hsize_t>{5, 7});
        std::vector<float> got(values.size());
        h5::read_slab(d.id(), H5T_NATIVE_FLOAT, {}, {}, got.data());
        CHECK(got == values);
        h5::PropList dcpl(H5Dget_create_plist(d.id()));
        CHECK(H5Pget_layout(dcpl.id()) == H5D_CHUNKED);
        CHECK(H5Pget_nfilters(dcpl.id()) == 1);
        CHECK(h5::read_attr_string(d.id(), "note") == "tokens of the prompt");
        CHECK(h5::read_attr_int(d.id(), "n") == 5);
        // An empty (null dataspace) dataset copies; an array of variable-length strings is
        // variable-length data (H5Tdetect_class alone says no).
        {
            h5::File src = h5::open_file(a, true);
            h5::Dataspace null_space(H5Screate(H5S_NULL));
            h5::Dataset e(H5Dcreate2(src.id(), "empty", H5T_STD_I32LE, null_space.id(), H5P_DEFAULT,
                                     H5P_DEFAULT, H5P_DEFAULT));
            REQUIRE(e.valid());
        }
        {
            const h5::File src = h5::open_file(a);
            h5::File out = h5::create_file(tmp / "c.h5");
            CHECK_NOTHROW(h5::copy_dataset(src.id(), "empty", out.id(), "empty"));
            h5::close_file(out);
        }
        h5::Datatype vstr(H5Tcopy(H5T_C_S1));
        REQUIRE(H5Tset_size(vstr.id(), H5T_VARIABLE) >= 0);
        const hsize_t two = 2;
        h5::Datatype arr(H5Tarray_create2(vstr.id(), 1, &two));
        CHECK(h5::contains_vlen(arr.id()));
        CHECK(h5::contains_vlen(vstr.id()));
        CHECK_FALSE(h5::contains_vlen(H5T_STD_I32LE));
        h5::Attribute note(H5Aopen(d.id(), "note", H5P_DEFAULT));
        h5::Datatype type(H5Aget_type(note.id()));
        CHECK(H5Tis_variable_str(type.id()) == 0);
        CHECK(H5Tget_size(type.id()) == std::string("tokens of the prompt").size());
    }

    TEST_CASE("errors: missing file and dataset, wrong rank, integer data, bad options") {
        TempDir tmp;
        const std::string missing = tmp / "nope.h5";
        CHECK_THROWS_AS(KvDumpReader{missing}, IoError);
        CHECK(message_of([&] { KvDumpReader r(missing); }) == missing + ": no such file");
        {
            std::FILE* f = std::fopen((tmp / "text.h5").c_str(), "w");
            std::fputs("not hdf5\n", f);
            std::fclose(f);
        }
        CHECK(message_of([&] { KvDumpReader r(tmp / "text.h5"); }) ==
              (tmp / "text.h5") + ": not an HDF5 file");
        const KvDumpReader r(k_sample);
        CHECK_THROWS_AS(r.info("layer_9/k"), IoError);
        CHECK(message_of([&] { r.info("layer_9/k"); }) ==
              k_sample + ": layer_9/k: no such dataset");
        CHECK(message_of([&] {
                  KvDumpReader x(k_sample, KvDumpLayout{{"layers.*/key"}, "htd", "", "", ""});
              }) == k_sample + ": no dataset matches layers.*/key");
        // Integer data is not vectors unless it says it is bfloat16.
        CHECK_THROWS_AS(KvDumpReader(k_sample, KvDumpLayout{{"token_ids"}, "td", "", "", ""}),
                        CorruptError);
        CHECK(message_of([&] { r.info("token_ids"); }).find("token_ids: 32-bit integer data") !=
              std::string::npos);
        // Wrong rank for the axis order.
        CHECK(message_of([&] {
                  KvDumpReader x(k_sample, KvDumpLayout{{}, "td", "", "", ""});
              }) == k_sample + ": layer_0/k: expected 2 dimensions (td), found 3");
        const std::string file = tmp / "rank.h5";
        {
            KvDumpWriter w(file);
            w.create("layer_0/k", 1, 4, 2, "float32", "td");
            w.commit();
        }
        CHECK_THROWS_AS(KvDumpReader{file}, CorruptError);
        CHECK(message_of([&] { KvDumpReader x(file); }) ==
              file + ": layer_0/k: expected 3 dimensions (htd), found 2");
        // Bad options.
        CHECK_THROWS_AS(AxisOrder("hht"), UsageError);
        CHECK_THROWS_AS(AxisOrder("htdx"), UsageError);
        CHECK_THROWS_AS(AxisOrder("hd"), UsageError);
        CHECK_THROWS_AS(KvDumpReader(k_sample, KvDumpLayout{{}, "xyz", "", "", ""}), UsageError);
        CHECK(message_of([&] { KvDumpWriter x(tmp / "no/such/dir.h5"); }) ==
              (tmp / "no/such/dir.h5") + ": cannot create output: no such directory " +
                  (tmp / "no/such"));
        KvDumpWriter w(tmp / "bad.h5");
        CHECK_THROWS_AS(w.create("a", 2, 4, 2, "int8"), UsageError);
        CHECK_THROWS_AS(w.create("a", 2, 4, 2, "float32", "td"), UsageError);
        CHECK_THROWS_AS(w.write("never_created", Slab{0, 1, 0, 1}, nullptr), UsageError);
    }

    TEST_CASE("NaN and Inf: check_finite names the first location") {
        TempDir tmp;
        const std::string file = tmp / "nan.h5";
        const int H = 2, T = 10, D = 4;
        std::vector<float> x(H * T * D, 0.5f);
        x[(1 * T + 7) * D + 3] = std::nanf("");
        x[(1 * T + 8) * D + 0] = -INFINITY;
        {
            KvDumpWriter w(file);
            w.create("layer_2/v", H, T, D, "float16", "thd");
            w.write("layer_2/v", Slab{0, H, 0, T}, x.data());
            w.commit();
        }
        const KvDumpReader r(file, KvDumpLayout{{}, "thd", "", "", ""});
        const DatasetInfo& info = find(r, "layer_2/v");
        const auto y = r.read_all(info);
        CHECK_THROWS_AS(check_finite(y.data(), full_slab(info), D, file, info.path), NumericError);
        CHECK(message_of([&] { check_finite(y.data(), full_slab(info), D, file, info.path); }) ==
              file + ": layer_2/v: NaN at [head 1, token 7, dim 3]");
        // In a slab the location is still absolute.
        const Slab s{1, 2, 8, 10};
        const auto z = r.read(info, s);
        CHECK(message_of([&] { check_finite(z.data(), s, D, file, info.path); }) ==
              file + ": layer_2/v: -Inf at [head 1, token 8, dim 0]");
        const auto ok = r.read(info, Slab{0, 1, 0, T});
        CHECK_NOTHROW(check_finite(ok.data(), Slab{0, 1, 0, T}, D, file, info.path));
    }

    TEST_CASE("float16 stored little- and big-endian: all 65536 bit patterns") {
        TempDir tmp;
        const std::string file = tmp / "f16.h5";
        std::vector<std::uint16_t> bits(65536);
        for (std::size_t j = 0; j < bits.size(); ++j) bits[j] = static_cast<std::uint16_t>(j);
        {
            KvDumpWriter w(file);
            const auto fid = static_cast<hid_t>(w.file_id());
            const h5::Datatype mem = h5::make_float16_type(false);
            for (const bool be : {false, true}) {
                const h5::Datatype ft = h5::make_float16_type(be);
                const h5::Dataset ds =
                    h5::create_dataset(fid, be ? "be/k" : "le/k", ft.id(), {1, 4096, 16});
                h5::write_slab(ds.id(), mem.id(), {}, {}, bits.data());
            }
            w.commit();
        }
        const KvDumpReader r(file, KvDumpLayout{{"*/k"}, "htd", "", "", ""});
        REQUIRE(r.datasets().size() == 2);
        for (const DatasetInfo& info : r.datasets()) {
            CAPTURE(info.path);
            CHECK(info.dtype == "float16");
            const auto y = r.read_all(info);
            const std::size_t differs = half_mismatches(bits, y);
            CHECK(differs == 0);
        }
        // HDF5 1.10's own (soft, ~20x slower) conversion to float agrees on every pattern.
        const h5::File f = h5::open_file(file);
        for (const char* name : {"le/k", "be/k"}) {
            std::vector<float> y(bits.size());
            h5::read_slab(h5::open_dataset(f.id(), name).id(), H5T_NATIVE_FLOAT, {}, {}, y.data());
            const std::size_t differs = half_mismatches(bits, y);
            CHECK(differs == 0);
        }
        CHECK(
            h5dump_values(capture("h5dump -w 0 -d /be/k -s \"0,960,0\" -c \"1,1,2\" " + file))[1] ==
            doctest::Approx(1.0009765625));  // 0x3C01 through HDF5's own conversion
    }

    TEST_CASE("bfloat16: uint16 + dtype, int16 + fq_dtype, bfloat16 float type") {
        TempDir tmp;
        const std::string file = tmp / "bf16.h5";
        std::vector<std::uint16_t> bits(65536);
        for (std::size_t j = 0; j < bits.size(); ++j) bits[j] = static_cast<std::uint16_t>(j);
        {
            KvDumpWriter w(file);
            const auto fid = static_cast<hid_t>(w.file_id());
            const h5::Dataset u = h5::create_dataset(fid, "u/k", H5T_STD_U16BE, {4, 1024, 16});
            h5::write_slab(u.id(), H5T_NATIVE_UINT16, {}, {}, bits.data());
            h5::write_attr_string(u.id(), "dtype", "bfloat16");
            const h5::Dataset s = h5::create_dataset(fid, "s/k", H5T_STD_I16LE, {4, 1024, 16});
            h5::write_slab(s.id(), H5T_NATIVE_INT16, {}, {}, bits.data());  // same bits
            h5::write_attr_string(s.id(), "fq_dtype", "BFloat16");
            h5::Datatype bf(H5Tcopy(H5T_IEEE_F32LE), fid, "copy");
            REQUIRE(H5Tset_fields(bf.id(), 15, 7, 8, 0, 7) >= 0);
            REQUIRE(H5Tset_size(bf.id(), 2) >= 0);
            REQUIRE(H5Tset_ebias(bf.id(), 127) >= 0);
            const h5::Dataset f = h5::create_dataset(fid, "f/k", bf.id(), {4, 1024, 16});
            h5::write_slab(f.id(), bf.id(), {}, {}, bits.data());
            // Integers without the attribute are refused.
            h5::create_dataset(fid, "n/k", H5T_STD_U16LE, {1, 1, 1});
            w.commit();
        }
        const KvDumpReader r(file, KvDumpLayout{{"u/k", "s/k", "f/k"}, "htd", "", "", ""});
        REQUIRE(r.datasets().size() == 3);
        CHECK_THROWS_AS(KvDumpReader(file, KvDumpLayout{{"*/k"}, "htd", "", "", ""}), CorruptError);
        for (const DatasetInfo& info : r.datasets()) {
            CAPTURE(info.path);
            CHECK(info.dtype == "bfloat16");
            const auto y = r.read_all(info);
            std::size_t differs = 0;
            for (std::size_t j = 0; j < bits.size(); ++j) {
                const float e = core::bfloat16_to_float(bits[j]);
                differs += std::isnan(e) ? !std::isnan(y[j]) : y[j] != e;
            }
            CHECK(differs == 0);
        }
    }

    TEST_CASE("hdf5_util: names, globs, listing, existence, pending files") {
        CHECK(h5::natural_less("layer_2/k", "layer_10/k"));
        CHECK_FALSE(h5::natural_less("layer_10/k", "layer_2/k"));
        CHECK(h5::natural_less("a", "b"));
        CHECK(h5::natural_less("layer_1", "layer_1/k"));
        CHECK(h5::natural_less("x01", "x1") != h5::natural_less("x1", "x01"));  // total order
        CHECK(glob_match("model/layers.*/key", "model/layers.12/key"));
        CHECK(glob_match("/layer_?/k", "layer_3/k"));
        CHECK_FALSE(glob_match("layer_?/k", "layer_12/k"));
        CHECK_FALSE(glob_match("*/k", "a/b/k"));  // '*' stays within one component
        CHECK(glob_match("**/k", "a/b/k"));
        CHECK_FALSE(glob_match("layer_*/k", "layer_3/kk"));
        CHECK(classify_kv_path("model/layers.12/Key").kind == KvKind::k);
        CHECK(classify_kv_path("model/layers.12/Key").layer == 12);
        CHECK(classify_kv_path("h/values").kind == KvKind::v);
        CHECK(classify_kv_path("queries").kind == KvKind::q);
        CHECK(classify_kv_path("queries").layer == -1);
        CHECK(classify_kv_path("layer_3/k_proj").kind == KvKind::other);
        CHECK(AxisOrder("thd").axis_of('h') == 1);
        CHECK(AxisOrder("td").axis_of('h') == -1);

        TempDir tmp;
        const std::string file = tmp / "out.h5";
        {
            h5::PendingFile pf(file);
            const h5::Group g = h5::create_group(pf.id(), "a/b/c");  // intermediate groups
            h5::write_attr_string(g.id(), "note", "hello");
            h5::write_attr_int(g.id(), "n", -3);
            h5::write_attr_double(pf.id(), "x", 0.25);
            h5::write_attr_int(pf.id(), "x", 9);  // replaces
            for (const char* name : {"layer_10/k", "layer_2/k", "a/b/c/d"})
                h5::create_dataset(pf.id(), name, H5T_IEEE_F32LE, {1, 1, 1});
            CHECK(fs::exists(pf.temp_path()));
            CHECK_FALSE(fs::exists(file));
            pf.commit();
            CHECK_FALSE(fs::exists(pf.temp_path()));
        }
        const h5::File f = h5::open_file(file);
        CHECK(h5::list_datasets(f.id()) ==
              std::vector<std::string>{"a/b/c/d", "layer_2/k", "layer_10/k"});
        CHECK(h5::exists(f.id(), "a/b/c"));
        CHECK(h5::exists(f.id(), "/a/b/c/d"));
        CHECK_FALSE(h5::exists(f.id(), "a/x/c"));  // missing parent: false, not an error
        CHECK(h5::is_dataset(f.id(), "layer_2/k"));
        CHECK_FALSE(h5::is_dataset(f.id(), "a/b"));
        const h5::Group g = h5::open_group(f.id(), "a/b/c");
        CHECK(h5::describe(g.id()) == file + ": a/b/c");
        CHECK(h5::read_attr_string(g.id(), "note") == "hello");
        CHECK(h5::read_attr_int(g.id(), "n") == -3);
        CHECK(h5::read_attr_double(g.id(), "n") == -3.0);
        CHECK(h5::read_attr_int(f.id(), "x") == 9);
        CHECK_THROWS_AS(h5::read_attr_int(g.id(), "note"), CorruptError);
        CHECK(message_of([&] { h5::read_attr_int(g.id(), "nope"); }) ==
              file + ": a/b/c: attribute 'nope' missing");
        CHECK_THROWS_AS(h5::open_group(f.id(), "zz"), IoError);
        {
            h5::PendingFile abandoned(tmp / "abandoned.h5");
            CHECK(fs::exists(abandoned.temp_path()));
        }
        CHECK(std::distance(fs::directory_iterator(tmp.path), fs::directory_iterator()) == 1);
    }
}
