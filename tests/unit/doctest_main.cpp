// doctest's own main with one change: listing the test cases (--list-test-cases, which CTest's
// doctest_discover_tests runs to register every case) also lists the cases marked
// doctest::skip(). So a skipped case (e.g. a FAISS case in a build without FAISS) is
// registered with CTest like any other; run alone it then runs no case, and
// tests/CMakeLists.txt maps that to CTest's "Skipped" instead of the case being absent.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <string_view>

namespace {

// Whether argument a is doctest's list-test-cases flag, in any of its spellings
// (-ltc, --list-test-cases, --dt-list-test-cases, ...).
bool is_list_test_cases(std::string_view a) {
    if (!a.starts_with('-')) return false;
    while (a.starts_with('-')) a.remove_prefix(1);
    if (a.starts_with("dt-")) a.remove_prefix(3);
    return a == "list-test-cases" || a == "ltc";
}

}  // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    for (int i = 1; i < argc; ++i)
        if (is_list_test_cases(argv[i])) context.setOption("no-skip", true);
    return context.run();
}
