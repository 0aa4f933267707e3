#include "logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace hu::daemon {

namespace {

// ISO 8601 local time with milliseconds and the UTC offset:
// 2025-01-31T14:03:07.123+01:00.
std::string TimeWithOffset(spdlog::log_clock::time_point tp) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp - secs).count();
  const std::time_t t = spdlog::log_clock::to_time_t(tp);
  std::tm tm{};
  localtime_r(&t, &tm);
  const long off = tm.tm_gmtoff / 60;
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}{}{:02}:{:02}", date, ms, off < 0 ? '-' : '+', std::labs(off) / 60,
                     std::labs(off) % 60);
}

// {"time": ..., "level": ..., "msg": ..., "thread": N}, one per line.
// Messages can carry guest-sent names: invalid UTF-8 is replaced, never
// emitted raw.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json j = {{"time", TimeWithOffset(msg.time)},
                        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                              spdlog::level::to_string_view(msg.level).size())},
                        {"msg", std::string(msg.payload.data(), msg.payload.size())},
                        {"thread", msg.thread_id}};
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// %O in the text pattern: the same timestamp as the JSON lines.
class OffsetTimeFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string s = TimeWithOffset(msg.time);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<OffsetTimeFlag>();
  }
};

// stderr or a file that Reopen() opens again by name.
class ReopenableSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Status Open(const std::string& path) {
    std::lock_guard lk(mutex_);
    if (path.empty()) {
      CloseLocked();
      return Status::Ok();
    }
    std::FILE* f = std::fopen(path.c_str(), "ae");
    if (!f) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("cannot open log file {}: {}", path, std::strerror(errno)));
    }
    CloseLocked();
    file_ = f;
    return Status::Ok();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::FILE* out = file_ ? file_ : stderr;
    std::fwrite(buf.data(), 1, buf.size(), out);
  }
  void flush_() override { std::fflush(file_ ? file_ : stderr); }

 private:
  void CloseLocked() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  std::FILE* file_ = nullptr;
};

std::shared_ptr<ReopenableSink>& Sink() {
  static std::shared_ptr<ReopenableSink> sink;
  return sink;
}

}  // namespace

Status ConfigureLogging(const LogOptions& o) {
  auto& sink = Sink();
  if (!sink) {
    sink = std::make_shared<ReopenableSink>();
    auto logger = std::make_shared<spdlog::logger>("hyperupcalld", sink);
    spdlog::set_default_logger(logger);
    // Decisions reach the log (often a file) as they happen, not at exit.
    spdlog::flush_on(spdlog::level::info);
  }
  // Format first, then the file: every line in a newly opened file has the
  // new format.
  if (o.format == "json") {
    spdlog::default_logger_raw()->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<OffsetTimeFlag>('O').set_pattern("%O %l %v");
    spdlog::default_logger_raw()->set_formatter(std::move(f));
  }
  spdlog::set_level(spdlog::level::from_str(o.level));
  return sink->Open(o.file);
}

}  // namespace hu::daemon
