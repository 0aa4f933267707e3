// The daemon's core over a FakeBackend and a fresh store per test, for the
// core's unit tests (core_test.cpp, core_migration_test.cpp).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "core.hpp"
#include "fake_backend.hpp"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"

namespace hu::daemon::test {

inline std::string Bytes(const char* text) {
  auto insns = Assemble(text);
  EXPECT_TRUE(insns.ok()) << (insns.ok() ? "" : insns.error().message);
  auto b = EncodeBytes(*insns);
  return std::string(b.begin(), b.end());
}

inline RawProgram Prog(const char* hook, const char* name, const char* text) {
  RawProgram r;
  r.hook = hook;
  r.name = name;
  r.insn_bytes = Bytes(text);
  return r;
}

constexpr const char* kRet0 = "mov %r0, 0\nexit\n";
constexpr const char* kCallTrace =
    "mov %r1, %r10\nadd %r1, -8\nstdw [%r10-8], 0\nmov %r2, 8\n"
    "call 7\nmov %r0, 0\nexit\n";

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hu-core-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    core_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(BackendLimits limits = {}, bool fail_install = false) {
    core_.reset();
    store_.reset();
    backend_ = std::make_unique<FakeBackend>();
    backend_->limits = limits;
    backend_->fail_install = fail_install;
    auto s = Store::Open((dir_ / "state.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    core_ = std::make_unique<Core>(*backend_, *store_, bus_);
    const uint64_t before = store_->Commits();
    ASSERT_TRUE(core_->Restore().ok());
    restore_commits_ = store_->Commits() - before;
  }
  size_t AuditRowsSaying(const std::string& action) {
    auto log = store_->AuditLog(100000);
    EXPECT_TRUE(log.ok());
    size_t n = 0;
    for (const auto& a : *log) n += a.decision == action;
    return n;
  }

  std::filesystem::path dir_;
  EventBus bus_;
  std::unique_ptr<FakeBackend> backend_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Core> core_;
  uint64_t restore_commits_ = 0;
};

}  // namespace hu::daemon::test
