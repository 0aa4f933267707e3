#include "program_note.hpp"

#include <nlohmann/json.hpp>

#include "domctl_abi.h"

namespace hu::xen {
namespace {

constexpr size_t kMaxName = 64;

bool Printable(const std::string& s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::vector<uint8_t> Dump(const nlohmann::json& j) {
  std::string s = j.dump();
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace

std::vector<uint8_t> EncodeNote(const ProgramNote& note) {
  nlohmann::json j = {{"n", note.name}, {"m", note.maps}, {"i", note.id}, {"h", note.host}};
  auto out = Dump(j);
  if (out.size() <= HU_XEN_ANNOTATION_MAX) return out;
  j["m"] = nlohmann::json::array();
  for (size_t keep = kMaxName; keep > 0; keep /= 2) {
    j["n"] = note.name.substr(0, keep);
    j["h"] = note.host.substr(0, keep);
    out = Dump(j);
    if (out.size() <= HU_XEN_ANNOTATION_MAX) return out;
  }
  return Dump(nlohmann::json{{"i", note.id}});
}

ProgramNote DecodeNote(std::span<const uint8_t> bytes) {
  ProgramNote note;
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return note;
  if (auto n = j.find("n"); n != j.end() && n->is_string() && Printable(*n)) note.name = *n;
  if (auto h = j.find("h"); h != j.end() && h->is_string() && Printable(*h)) note.host = *h;
  if (auto i = j.find("i"); i != j.end() && i->is_number_unsigned()) note.id = *i;
  if (auto m = j.find("m"); m != j.end() && m->is_array()) {
    for (const auto& e : *m) {
      if (!e.is_string() || !Printable(e)) {
        note.maps.clear();  // all or none: names must line up with map indices
        break;
      }
      note.maps.push_back(e);
    }
  }
  return note;
}

}  // namespace hu::xen
