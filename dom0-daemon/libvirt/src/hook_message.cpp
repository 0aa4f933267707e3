// One line from the hook script. The socket is root-only, but the line
// carries a domain name an operator chose, so it is checked field by field.
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "hyperupcall/daemon/libvirt_hook.hpp"

namespace hu::daemon {
namespace {

constexpr std::array kOps = {"prepare", "start", "started", "stopped", "release", "reconnect"};
constexpr std::array kSubOps = {"begin", "end", "-"};
constexpr uint32_t kDomidFirstReserved = 0x7FF0;  // Xen's DOMID_FIRST_RESERVED
constexpr size_t kMaxField = 256;

Error Bad(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "libvirt hook message: " + what);
}

template <size_t N>
bool OneOf(const std::string& s, const std::array<const char*, N>& set) {
  for (const char* x : set)
    if (s == x) return true;
  return false;
}

bool CanonicalUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Result<std::string> Text(const nlohmann::json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Bad("missing field '" + std::string(key) + "'");
    return std::string();
  }
  if (!it->is_string()) return Bad("field '" + std::string(key) + "' is not a string");
  std::string s = it->get<std::string>();
  if (s.size() > kMaxField)
    return Bad("field '" + std::string(key) + "' is longer than " + std::to_string(kMaxField));
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return Bad("field '" + std::string(key) + "' has a control byte");
  return s;
}

}  // namespace

Result<LibvirtHookMessage> ParseLibvirtHookLine(std::string_view line) {
  if (line.size() > kLibvirtHookMaxLine)
    return Bad("line of " + std::to_string(line.size()) + " bytes, limit " +
               std::to_string(kLibvirtHookMaxLine));
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("not valid JSON");
  if (!j.is_object()) return Bad("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    static constexpr std::array kKeys = {"v", "driver", "op", "sub_op", "name", "uuid", "id"};
    if (!OneOf(key, kKeys)) return Bad("unknown field '" + key + "'");
  }
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_unsigned() || v->get<uint64_t>() != 1)
    return Bad("field 'v' must be 1 (protocol version)");

  LibvirtHookMessage m;
  for (auto [key, dst, required] : {std::tuple{"driver", &m.driver, true},
                                    {"op", &m.op, true},
                                    {"sub_op", &m.sub_op, true},
                                    {"name", &m.name, true},
                                    {"uuid", &m.uuid, false}}) {
    auto t = Text(j, key, required);
    if (!t) return t.error();
    *dst = std::move(*t);
  }
  if (m.driver != "libxl") return Bad("unknown driver '" + m.driver + "' (known: libxl)");
  if (!OneOf(m.op, kOps)) return Bad("unknown op '" + m.op + "'");
  if (!OneOf(m.sub_op, kSubOps)) return Bad("unknown sub_op '" + m.sub_op + "'");
  if (m.name.empty()) return Bad("field 'name' is empty");
  if (!m.uuid.empty() && !CanonicalUuid(m.uuid)) return Bad("field 'uuid' is not a UUID");
  if (auto id = j.find("id"); id != j.end()) {
    if (!id->is_number_unsigned() || id->get<uint64_t>() >= kDomidFirstReserved)
      return Bad("field 'id' is not a domain id (0.." + std::to_string(kDomidFirstReserved - 1) +
                 ")");
    m.domid = uint32_t(id->get<uint64_t>());
  }
  return m;
}

}  // namespace hu::daemon
