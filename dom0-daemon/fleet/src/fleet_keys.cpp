#include "fleet_keys.hpp"

#include <fmt/format.h>

#include <cctype>

namespace hu::fleet {

std::string Keys::DomainPolicy(const std::string& uuid) const {
  auto c = CanonicalUuid(uuid);
  return prefix + "/state/policy/domain/" + (c ? *c : uuid);
}

std::optional<StateKey> ParseStateKey(const Keys& k, const std::string& key) {
  auto after = [&](const std::string& head) -> std::optional<std::string> {
    if (key.size() <= head.size() || key.compare(0, head.size(), head) != 0) return std::nullopt;
    return key.substr(head.size());
  };
  if (key == k.FleetPolicy()) return StateKey{StateKey::Kind::kFleetPolicy, ""};
  if (auto h = after(k.HostPolicy(""))) return StateKey{StateKey::Kind::kHostPolicy, *h};
  if (auto u = after(k.prefix + "/state/policy/domain/")) {
    if (auto c = CanonicalUuid(*u)) return StateKey{StateKey::Kind::kDomainPolicy, *c};
    return std::nullopt;
  }
  if (auto s = after(k.Approval(""))) {
    if (ValidateSha256(*s)) return StateKey{StateKey::Kind::kApproval, *s};
  }
  return std::nullopt;
}

Status ValidateHostName(const std::string& host) {
  if (host.empty() || host.size() > 253) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("host name '{}' must be 1..253 characters", host));
  }
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("host name '{}' has '{}': only letters, digits, '.', '-' and "
                                   "'_' are allowed",
                                   host, c));
    }
  }
  return Status::Ok();
}

Result<std::string> CanonicalUuid(const std::string& uuid) {
  std::string out = uuid;
  bool ok = out.size() == 36;
  for (size_t i = 0; ok && i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash) {
      ok = out[i] == '-';
    } else {
      ok = std::isxdigit(static_cast<unsigned char>(out[i])) != 0;
      out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
    }
  }
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("'{}' is not a domain UUID (8-4-4-4-12 hex digits)", uuid));
  }
  return out;
}

Status ValidateSha256(const std::string& hex) {
  if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("'{}' is not a program hash (64 lowercase hex digits, as "
                                 "`prog show` prints it)",
                                 hex));
  }
  return Status::Ok();
}

}  // namespace hu::fleet
