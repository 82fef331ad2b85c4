// StoredCodebook: any codebook file fq reads, writes or embeds, as stored — the one type that
// the codebook store (io/codebook_store.hpp) and the compressed container
// (io/encoded_file.hpp: /codebooks/<hex>) handle, whatever the family:
//   format        the file's "format" key: "fq-codebook" (universal fib / scalar codebooks,
//                 io/codebook_file.hpp), "fq-gsrq-codebook" (io/gsrq_file.hpp),
//                 "fq-faiss-codebook" (FAISS builds, io/faiss_file.hpp)
//   family        the codec family it is for (fib, scalar, gsrq, faiss-pq, faiss-rq)
//   content_hash  "sha256:<64 hex>" over the decoding-relevant canonical bytes (each format's
//                 own definition, docs/FORMAT.md); verified on every parse
//   text          the file's bytes (JSON): what a container embeds
// Each family parses its payload from `text` with its own typed reader; parsing here
// dispatches on `format` through the codec registry (CodecFamily::parse_codebook_file).
#pragma once

#include <string>

namespace fq::io {

struct StoredCodebook {
    std::string format;
    std::string family;
    std::string content_hash;
    std::string text;

    bool empty() const { return content_hash.empty(); }
};

// Validates text as a codebook file of any known format (name: for messages, the path).
// CorruptError "<name>: ..." if it is not JSON, has no known "format", or is invalid.
StoredCodebook parse_stored_codebook(const std::string& text, const std::string& name);
// read + parse_stored_codebook; IoError when unreadable.
StoredCodebook load_stored_codebook(const std::string& path);

}  // namespace fq::io
