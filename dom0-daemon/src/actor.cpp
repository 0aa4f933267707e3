#include "actor.hpp"

#include <pwd.h>

#include <utility>
#include <vector>

namespace hu::daemon {
namespace {

thread_local std::string current = "daemon";
thread_local int64_t last_audit_seq = 0;

}  // namespace

const std::string& CurrentActor() { return current; }

ActorScope::ActorScope(std::string actor) : saved_(std::move(current)) {
  current = std::move(actor);
}

ActorScope::~ActorScope() { current = std::move(saved_); }

void NoteAuditSeq(int64_t seq) { last_audit_seq = seq; }

int64_t TakeAuditSeq() { return std::exchange(last_audit_seq, 0); }

std::string UidActor(unsigned uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  std::string out = "uid:" + std::to_string(uid);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found)
    out += std::string("(") + found->pw_name + ")";
  return out;
}

}  // namespace hu::daemon
