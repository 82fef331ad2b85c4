// Layer guard (lib/CMakeLists.txt): this directory comes first on the include path of the
// maths library fq_maths only. Layer 1 (core, source, codecs, train, metrics) works on arrays
// in memory and must not see files, JSON or command lines (docs/ARCHITECTURE.md).
#error \
    "layer 1 (fq_maths) must not include <CLI/CLI.hpp>: move the code to lib/fq/io or lib/fq/tasks"
