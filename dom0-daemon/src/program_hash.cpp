#include "program_hash.hpp"

#include <openssl/evp.h>

#include <cstring>

namespace hu::daemon {

namespace {

void AddU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string ProgramSha256(const ProgramRecord& rec) {
  // Little-endian fields, so every host hashes the same bytes.
  std::string data = "hyperupcall-program-v1";
  AddU32(data, static_cast<uint32_t>(rec.hook));
  AddU32(data, static_cast<uint32_t>(rec.insns.size()));
  for (const hu_insn& in : rec.insns) {
    data.push_back(static_cast<char>(in.code));
    data.push_back(static_cast<char>(in.dst | (in.src << 4)));
    const auto off = static_cast<uint16_t>(in.off);
    data.push_back(static_cast<char>(off & 0xff));
    data.push_back(static_cast<char>(off >> 8));
    AddU32(data, static_cast<uint32_t>(in.imm));
  }
  AddU32(data, static_cast<uint32_t>(rec.maps.size()));
  for (const auto& m : rec.maps) {
    AddU32(data, m.def.type);
    AddU32(data, m.def.key_size);
    AddU32(data, m.def.value_size);
    AddU32(data, m.def.max_entries);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xf]);
  }
  return out;
}

}  // namespace hu::daemon
