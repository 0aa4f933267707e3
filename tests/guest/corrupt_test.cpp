// The loader on damaged objects: every corruption is either refused with a
// message or (when it hits bytes the loader never reads) harmless; none may
// crash or read out of bounds.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "hyperupcall/guest/loader.hpp"
#include "test_util.hpp"

namespace hu::guest {
namespace {

using testing::Obj;
using testing::TableResolver;

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Loads and links every program; returns "" or the first error.
std::string LoadEverything(const std::vector<uint8_t>& bytes) {
  auto o = BpfObject::FromBytes(bytes, "corrupt.o");
  if (!o.ok()) return o.error().message;
  TableResolver ksyms({{"runqueues", 0xffffffff82000000ull}});
  for (const auto& p : o->programs()) {
    auto linked = o->Link(p.name, &ksyms);
    if (!linked.ok()) return linked.error().message;
  }
  return "";
}

// Section header access on a raw image, to damage one field precisely.
struct Image {
  std::vector<uint8_t> bytes;
  Elf64_Ehdr ehdr() const {
    Elf64_Ehdr h;
    memcpy(&h, bytes.data(), sizeof h);
    return h;
  }
  size_t ShdrOffset(size_t i) const { return ehdr().e_shoff + i * sizeof(Elf64_Shdr); }
  Elf64_Shdr shdr(size_t i) const {
    Elf64_Shdr s;
    memcpy(&s, bytes.data() + ShdrOffset(i), sizeof s);
    return s;
  }
  void set_shdr(size_t i, const Elf64_Shdr& s) {
    memcpy(bytes.data() + ShdrOffset(i), &s, sizeof s);
  }
  std::string name(size_t i) const {
    Elf64_Shdr names = shdr(ehdr().e_shstrndx);
    return reinterpret_cast<const char*>(bytes.data() + names.sh_offset + shdr(i).sh_name);
  }
  size_t Find(const std::string& n) const {
    for (size_t i = 1; i < ehdr().e_shnum; ++i) {
      if (name(i) == n) return i;
    }
    ADD_FAILURE() << "no section " << n;
    return 0;
  }
};

Image MapsImage() { return Image{ReadAll(Obj("maps"))}; }

TEST(Corrupt, TheUndamagedObjectLoads) {
  ASSERT_FALSE(MapsImage().bytes.empty());
  EXPECT_EQ(LoadEverything(MapsImage().bytes), "");
}

TEST(Corrupt, EveryTruncationIsRefused) {
  const auto full = ReadAll(Obj("ksym"));
  for (size_t len = 0; len < full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_NE(LoadEverything(cut), "") << "truncated to " << len << " bytes";
  }
}

TEST(Corrupt, EverySingleByteChangeIsRefusedOrHarmless) {
  for (const char* name : {"maps", "ksym", "subprog"}) {
    const auto full = ReadAll(Obj(name));
    size_t refused = 0;
    for (size_t pos = 0; pos < full.size(); ++pos) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        auto bytes = full;
        bytes[pos] ^= x;
        refused += LoadEverything(bytes) != "";
      }
    }
    // Damage to the headers, code and relocations must be caught.
    EXPECT_GT(refused, 0u) << name;
  }
}

TEST(Corrupt, WrongMachine) {
  Image img = MapsImage();
  Elf64_Ehdr h = img.ehdr();
  h.e_machine = EM_X86_64;
  memcpy(img.bytes.data(), &h, sizeof h);
  EXPECT_EQ(LoadEverything(img.bytes),
            "corrupt.o: ELF machine 62 is not BPF (247): compile with clang -target bpf");
}

TEST(Corrupt, NotElfAtAll) {
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l',
                               'd', '!', '!', '!', '!', '!', '!', '!', '!', '!'};
  EXPECT_EQ(LoadEverything(text), "corrupt.o: not an ELF file");
}

TEST(Corrupt, SectionPastTheEndOfTheFile) {
  Image img = MapsImage();
  size_t i = img.Find("hyperupcall/trace.exit");
  Elf64_Shdr s = img.shdr(i);
  s.sh_offset = img.bytes.size() - 8;
  img.set_shdr(i, s);
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("lie outside the file"), std::string::npos) << err;
}

TEST(Corrupt, CodeThatIsNotWholeInstructions) {
  Image img = MapsImage();
  size_t i = img.Find("hyperupcall/mem.reclaim");
  Elf64_Shdr s = img.shdr(i);
  s.sh_size -= 3;
  img.set_shdr(i, s);
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("section 'hyperupcall/mem.reclaim' is"), std::string::npos) << err;
  EXPECT_NE(err.find("not a multiple of 8-byte instructions"), std::string::npos) << err;
}

// The first relocation of the trace.exit program (lddw of `counts`).
size_t FirstRel(const Image& img) {
  return img.shdr(img.Find(".relhyperupcall/trace.exit")).sh_offset;
}

TEST(Corrupt, UnsupportedRelocationTypeWithItsOffset) {
  Image img = MapsImage();
  Elf64_Rel rel;
  memcpy(&rel, img.bytes.data() + FirstRel(img), sizeof rel);
  rel.r_info = ELF64_R_INFO(ELF64_R_SYM(rel.r_info), 2);  // R_BPF_64_ABS64
  memcpy(img.bytes.data() + FirstRel(img), &rel, sizeof rel);
  EXPECT_EQ(LoadEverything(img.bytes),
            "corrupt.o: unsupported relocation type 2 (R_BPF_64_ABS64) at offset 0x28 of "
            "section 'hyperupcall/trace.exit' against 'counts'");
}

TEST(Corrupt, RelocationPastTheEndOfItsSection) {
  Image img = MapsImage();
  Elf64_Rel rel;
  memcpy(&rel, img.bytes.data() + FirstRel(img), sizeof rel);
  rel.r_offset = 0x10000;
  memcpy(img.bytes.data() + FirstRel(img), &rel, sizeof rel);
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("relocation 0 at offset 65536 is past the end of section "
                     "'hyperupcall/trace.exit'"),
            std::string::npos)
      << err;
}

TEST(Corrupt, RelocationNamingASymbolThatDoesNotExist) {
  Image img = MapsImage();
  Elf64_Rel rel;
  memcpy(&rel, img.bytes.data() + FirstRel(img), sizeof rel);
  rel.r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(rel.r_info));
  memcpy(img.bytes.data() + FirstRel(img), &rel, sizeof rel);
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("names symbol 100000, but there are only"), std::string::npos) << err;
}

TEST(Corrupt, RelocationOnAnInstructionThatIsNotLddw) {
  Image img = MapsImage();
  Elf64_Rel rel;
  memcpy(&rel, img.bytes.data() + FirstRel(img), sizeof rel);
  rel.r_offset = 0;  // `r6 = r1`
  memcpy(img.bytes.data() + FirstRel(img), &rel, sizeof rel);
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("program 'count_exits': insn 0 of section 'hyperupcall/trace.exit' "
                     "(offset 0x0): relocation against 'counts' on an instruction that is "
                     "neither lddw nor call"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace hu::guest

namespace hu::guest {
namespace {

TEST(Corrupt, MalformedBtfSaysWhatLibbpfFound) {
  Image img = MapsImage();
  size_t btf = img.shdr(img.Find(".BTF")).sh_offset;
  uint32_t huge = 0x00ffffff;
  memcpy(img.bytes.data() + btf + 12, &huge, sizeof huge);  // btf_header.type_len
  std::string err = LoadEverything(img.bytes);
  EXPECT_NE(err.find("corrupt.o: section '.BTF' is not valid BTF: "), std::string::npos) << err;
}

}  // namespace
}  // namespace hu::guest
