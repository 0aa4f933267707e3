// Store: what survives closing and reopening the state database (a daemon
// restart), the schema upgrade of an older database, and that a failed
// step of a transaction leaves nothing behind.
#include "store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace hu::daemon {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hu-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return (dir_ / "state.db").string(); }
  std::unique_ptr<Store> Open() {
    auto s = Store::Open(Path());
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Raw SQL on the file, as another process (or an older daemon) would.
  void Sql(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  static AuditRow Row(uint32_t domid) { return AuditRow{1, domid, 0, "", "policy", "test"}; }

  std::filesystem::path dir_;
};

TEST_F(StoreTest, PolicySourceSurvivesReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s->PutPolicy(1, DefaultPolicy(), Row(1), PolicySource{"xml", "00ff00ff00ff00ff"}));
    ASSERT_TRUE(s->PutPolicy(2, DefaultPolicy(), Row(2)));  // the operator API's default
  }
  auto s = Open();
  auto one = s->PolicySourceOf(1);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->origin, "xml");
  EXPECT_EQ((*one)->xml_fingerprint, "00ff00ff00ff00ff");
  auto two = s->PolicySourceOf(2);
  ASSERT_TRUE(two.ok() && two->has_value());
  EXPECT_EQ((*two)->origin, "api");
  EXPECT_EQ((*two)->xml_fingerprint, "");
  auto none = s->PolicySourceOf(3);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // An override replaces the source; a delete drops it.
  ASSERT_TRUE(s->PutPolicy(1, DefaultPolicy(), Row(1), PolicySource{"api", "00ff00ff00ff00ff"}));
  EXPECT_EQ((*s->PolicySourceOf(1))->origin, "api");
  ASSERT_TRUE(s->DeletePolicy(1, Row(1)));
  EXPECT_FALSE(s->PolicySourceOf(1)->has_value());
}

// A database from before policies had a source: its rows become operator
// overrides recorded over no XML, and nothing else is lost.
TEST_F(StoreTest, OlderDatabaseIsUpgraded) {
  const std::string old =
      "CREATE TABLE policies (scope TEXT PRIMARY KEY, policy TEXT NOT NULL);"
      "INSERT INTO policies VALUES('domain:4', '" +
      PolicyToJson(DefaultPolicy()).dump() + "');";
  Sql(old.c_str());
  auto s = Open();
  auto src = s->PolicySourceOf(4);
  ASSERT_TRUE(src.ok() && src->has_value()) << (src.ok() ? "" : src.error().message);
  EXPECT_EQ((*src)->origin, "api");
  EXPECT_EQ((*src)->xml_fingerprint, "");
  auto all = s->LoadPolicies();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->domains.count(4), 1u);
  s.reset();
  EXPECT_TRUE(Open());  // upgrading twice is a no-op
}

// A libvirt domain's policy lives under its UUID; a domid-scoped row of it
// moves there with its source, and an existing UUID row wins over it.
TEST_F(StoreTest, DomidPolicyMovesToLibvirtUuid) {
  const std::string uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa1";
  Policy p = DefaultPolicy();
  p.max_insns = 123;
  {
    auto s = Open();
    ASSERT_TRUE(s->PutPolicy(2, p, Row(2), PolicySource{"api", "0123456789abcdef"}));
    ASSERT_TRUE(s->MovePolicy(DomainPolicyScope(2), LibvirtPolicyScope(uuid), Row(2)));
  }
  auto s = Open();
  EXPECT_FALSE(s->PolicySourceOf(2)->has_value());
  auto src = s->ScopedPolicySource(LibvirtPolicyScope(uuid));
  ASSERT_TRUE(src.ok() && src->has_value());
  EXPECT_EQ((*src)->origin, "api");
  EXPECT_EQ((*src)->xml_fingerprint, "0123456789abcdef");
  auto all = s->LoadPolicies();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->domains.empty());
  ASSERT_EQ(all->libvirt.count(uuid), 1u);
  EXPECT_EQ(all->libvirt.at(uuid).max_insns, 123u);

  Policy q = DefaultPolicy();
  q.max_insns = 7;
  ASSERT_TRUE(s->PutPolicy(3, q, Row(3)));
  ASSERT_TRUE(s->MovePolicy(DomainPolicyScope(3), LibvirtPolicyScope(uuid), Row(3)));
  all = s->LoadPolicies();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->domains.empty());
  EXPECT_EQ(all->libvirt.at(uuid).max_insns, 123u);
  ASSERT_TRUE(s->DeleteScopedPolicy(LibvirtPolicyScope(uuid), Row(2)));
  EXPECT_TRUE(s->LoadPolicies()->libvirt.empty());
}

TEST_F(StoreTest, IdentityHistorySurvivesReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s->AddIdentityChange({1000, "renamed", "web", "www", "u1", "u1"}));
    ASSERT_TRUE(s->AddIdentityChange({2000, "uuid-changed", "db", "db", "u2", "u3"}));
  }
  auto s = Open();
  auto h = s->IdentityChanges();
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].time_ms, 1000);
  EXPECT_EQ((*h)[0].kind, "renamed");
  EXPECT_EQ((*h)[0].old_name, "web");
  EXPECT_EQ((*h)[0].new_name, "www");
  EXPECT_EQ((*h)[1].old_uuid, "u2");
  EXPECT_EQ((*h)[1].new_uuid, "u3");
}

TEST_F(StoreTest, LibvirtNamesAreUpsertedAndSurviveReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s->SaveLibvirtNames({{"u1", "web"}, {"u2", "db"}}));
    ASSERT_TRUE(s->SaveLibvirtNames({{"u1", "www"}}));  // u2 not listed: kept
  }
  auto s = Open();
  auto names = s->LibvirtNames();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::map<std::string, std::string>{{"u1", "www"}, {"u2", "db"}}));
}

// The audit row is part of the transaction: when it cannot be written the
// policy is not stored either (ROLLBACK), and the next transaction works.
TEST_F(StoreTest, FailedAuditRollsBackThePolicy) {
  auto s = Open();
  Sql("CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'no'); END;");
  auto st = s->PutPolicy(5, DefaultPolicy(), Row(5));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("insert audit"), std::string::npos) << st.error().message;
  EXPECT_FALSE(s->PolicySourceOf(5)->has_value());
  EXPECT_EQ(s->LoadPolicies()->domains.count(5), 0u);
  Sql("DROP TRIGGER no_audit;");
  ASSERT_TRUE(s->PutPolicy(5, DefaultPolicy(), Row(5)));
  EXPECT_TRUE(s->PolicySourceOf(5)->has_value());
}

}  // namespace
}  // namespace hu::daemon

namespace hu::daemon {
namespace {

// A database written before programs kept their BTF, functions and region
// symbols, and before audit rows named who asked: it opens, its program
// and audit rows read back (with nothing for what they did not keep), and
// new rows keep everything.
TEST_F(StoreTest, DatabaseWithoutBtfSymbolsOrActorIsUpgraded) {
  Sql("CREATE TABLE programs (id INTEGER PRIMARY KEY AUTOINCREMENT, domid INTEGER NOT NULL,"
      " hook INTEGER NOT NULL, name TEXT NOT NULL, insns BLOB NOT NULL, maps TEXT NOT NULL,"
      " regions TEXT NOT NULL, state TEXT NOT NULL, verdict TEXT NOT NULL,"
      " verifier_log TEXT NOT NULL, verifier_states INTEGER NOT NULL, verifier_ms REAL NOT NULL,"
      " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
      "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
      " domid INTEGER NOT NULL, prog_id INTEGER NOT NULL, prog_name TEXT NOT NULL,"
      " decision TEXT NOT NULL, reason TEXT NOT NULL);"
      "INSERT INTO programs VALUES(7, 1, 4, 'old', x'b700000000000000', '[]',"
      " '[{\"start\":4096,\"len\":64,\"flags\":1}]', 'installed',"
      " '{\"kind\":1,\"stage\":\"\",\"message\":\"\",\"error_pc\":-1,\"code\":0}', '', 1, 0.5, 1, "
      "1);"
      "INSERT INTO audit VALUES(3, 1000, 1, 7, 'old', 'accepted', 'verified');");
  {
    auto s = Open();
    ASSERT_TRUE(s);
    auto progs = s->LoadPrograms();
    ASSERT_TRUE(progs.ok()) << progs.error().message;
    ASSERT_EQ(progs->size(), 1u);
    const ProgramRecord& old = progs->front();
    EXPECT_EQ(old.id, 7u);
    ASSERT_EQ(old.regions.size(), 1u);
    EXPECT_EQ(old.regions[0].start, 4096u);
    ASSERT_EQ(old.region_symbols.size(), 1u);
    EXPECT_EQ(old.region_symbols[0], "");
    EXPECT_TRUE(old.btf.empty());
    EXPECT_TRUE(old.functions.empty());
    auto rows = s->AuditLog(10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->front().seq, 3);
    EXPECT_EQ(rows->front().actor, "");

    ProgramRecord rec;
    rec.domid = 2;
    rec.hook = HU_HOOK_TRACE_EXIT;
    rec.name = "new";
    rec.insns = {hu_insn{0xb7, 0, 0, 0, 0}, hu_insn{0x95, 0, 0, 0, 0}};
    rec.regions = {hu_region{8192, 16, 1, 0}, hu_region{12288, 8, 3, 0}};
    rec.region_symbols = {"init_task", ""};
    rec.functions = {{"main", 0}, {"helper_fn", 1}};
    rec.btf = {0x9f, 0xeb, 1, 0};
    rec.state = ProgState::kInstalled;
    AuditRow a = Row(2);
    a.actor = "uid:0(root) pid:1";
    ASSERT_TRUE(s->InsertProgram(rec, a).ok());
  }
  auto s = Open();
  auto progs = s->LoadPrograms();
  ASSERT_TRUE(progs.ok());
  ASSERT_EQ(progs->size(), 2u);
  const ProgramRecord& rec = progs->back();
  EXPECT_EQ(rec.region_symbols, (std::vector<std::string>{"init_task", ""}));
  ASSERT_EQ(rec.functions.size(), 2u);
  EXPECT_EQ(rec.functions[1].name, "helper_fn");
  EXPECT_EQ(rec.functions[1].pc, 1u);
  EXPECT_EQ(rec.btf, (std::vector<uint8_t>{0x9f, 0xeb, 1, 0}));
  auto rows = s->AuditLog(10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->front().actor, "uid:0(root) pid:1");
  EXPECT_GT(rows->front().seq, 3);
}

// Audit rows by domain, program, decision, time and sequence; a row
// without an actor of its own records the calling thread's.
TEST_F(StoreTest, AuditQueryFilters) {
  auto s = Open();
  ASSERT_TRUE(s);
  // A row names the actor of the thread that built it (even when another
  // thread writes it, as group commit does).
  auto row = [](int i) {
    return AuditRow{1000 + i * 10, static_cast<uint32_t>(1 + i % 2), static_cast<uint64_t>(i),
                    "p",           i % 3 ? "accepted" : "rejected",  "r"};
  };
  for (int i = 0; i < 5; i++) ASSERT_TRUE(s->Audit(row(i)));
  AuditRow last = [&] {
    ActorScope who("tls:CN=ops");
    return row(5);
  }();
  ASSERT_TRUE(s->Audit(last));
  auto all = s->QueryAudit({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ(all->front().actor, "tls:CN=ops");  // newest first
  EXPECT_EQ(all->back().actor, "daemon");
  AuditQuery q;
  q.domid = 2;
  EXPECT_EQ(s->QueryAudit(q)->size(), 3u);
  q = {};
  q.decision = "rejected";
  EXPECT_EQ(s->QueryAudit(q)->size(), 2u);
  q = {};
  q.prog_id = 4;
  EXPECT_EQ(s->QueryAudit(q)->size(), 1u);
  q = {};
  q.since_ms = 1020;
  q.until_ms = 1040;
  EXPECT_EQ(s->QueryAudit(q)->size(), 2u);
  q = {};
  q.limit = 2;
  EXPECT_EQ(s->QueryAudit(q)->size(), 2u);
  q = {};
  q.after_seq = all->at(2).seq;
  q.oldest_first = true;
  auto after = s->QueryAudit(q);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ(after->front().seq, all->at(1).seq);
}

}  // namespace
}  // namespace hu::daemon
