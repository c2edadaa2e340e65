// Mechanical rules for every pv-abi header (STYLE.md): opens with a comment saying what it
// is for, uses #pragma once, and includes only allocation-free standard headers or other
// pv headers. (That each compiles alone is checked by the generated units in CMake.)
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

std::vector<std::filesystem::path> headers() {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(PV_ABI_HEADER_DIR)) {
        if (e.path().extension() == ".hpp") {
            out.push_back(e.path());
        }
    }
    return out;
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

TEST(pv_abi_headers, FolderHoldsTheExpectedHeaders) {
    std::set<std::string> names;
    for (const auto& p : headers()) {
        names.insert(p.filename().string());
    }
    for (const char* must : {"abi.hpp", "types.hpp", "hypercall.hpp", "errno.hpp",
                             "start_info.hpp", "shared_info.hpp", "arch_x86_64.hpp",
                             "vcpu_context.hpp", "mmu.hpp", "multicall.hpp",
                             "event_channel.hpp", "grant_table.hpp", "sched.hpp", "vcpu.hpp",
                             "memory.hpp", "version.hpp", "console_io.hpp", "callback.hpp",
                             "physdev.hpp", "elfnote.hpp", "xenstore.hpp", "xenbus.hpp",
                             "console.hpp", "blkif.hpp", "netif.hpp", "hvm_start_info.hpp"}) {
        EXPECT_TRUE(names.count(must)) << must;
    }
}

TEST(pv_abi_headers, OpenWithPurposeCommentAndPragmaOnce) {
    for (const auto& p : headers()) {
        const auto lines = lines_of(p);
        ASSERT_FALSE(lines.empty()) << p;
        EXPECT_EQ(lines[0].rfind("// ", 0), 0u) << p << ": first line must say what it is for";
        bool once = false;
        for (const auto& l : lines) {
            once = once || l == "#pragma once";
        }
        EXPECT_TRUE(once) << p;
        EXPECT_LE(lines.size(), 600u) << p << ": over the hard file-size limit";
    }
}

TEST(pv_abi_headers, IncludeOnlyFreestandingSafeHeaders) {
    // STYLE.md: header-only, allocation-free standard headers.
    const std::set<std::string> allowed = {"cstdint", "cstddef", "type_traits", "concepts",
                                           "bit",     "limits",  "utility",     "atomic",
                                           "span",    "array",   "compare",     "new"};
    for (const auto& p : headers()) {
        for (const auto& l : lines_of(p)) {
            if (l.rfind("#include", 0) != 0) {
                continue;
            }
            const auto open = l.find_first_of("<\"");
            const auto close = l.find_first_of(">\"", open + 1);
            ASSERT_NE(open, std::string::npos) << p << ": " << l;
            const std::string name = l.substr(open + 1, close - open - 1);
            if (l[open] == '"') {
                // A quoted include names another pv header, relative to this one or to the
                // include root.
                const bool found = std::filesystem::exists(p.parent_path() / name) ||
                                   std::filesystem::exists(p.parent_path().parent_path() / name);
                EXPECT_TRUE(found) << p << ": " << l;
            } else {
                EXPECT_TRUE(allowed.count(name) || name.rfind("pv/", 0) == 0) << p << ": " << l;
            }
        }
    }
}

}  // namespace

namespace {

// -mgeneral-regs-only only rejects floating point that generates code; a constant or an
// unused inline function would slip through, so the type names are banned outright.
TEST(pv_abi_headers, NoFloatingPointTypes) {
    for (const auto& p : headers()) {
        for (const auto& full : lines_of(p)) {
            const std::string code = full.substr(0, full.find("//"));
            for (const std::string word : {"float", "double"}) {
                for (auto at = code.find(word); at != std::string::npos;
                     at = code.find(word, at + 1)) {
                    const auto is_ident = [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                    };
                    const bool starts = at == 0 || !is_ident(code[at - 1]);
                    const bool ends = at + word.size() >= code.size() ||
                                      !is_ident(code[at + word.size()]);
                    EXPECT_FALSE(starts && ends) << p << ": " << full;
                }
            }
        }
    }
}

}  // namespace
