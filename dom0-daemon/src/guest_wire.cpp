#include "guest_wire.hpp"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "text.hpp"

namespace hu::daemon {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::io::CodedInputStream;
using WFL = google::protobuf::internal::WireFormatLite;

constexpr int kMaxDepth = 8;

const char* WireTypeName(int t) {
  switch (t) {
    case WFL::WIRETYPE_VARINT:
      return "varint";
    case WFL::WIRETYPE_FIXED64:
      return "fixed64";
    case WFL::WIRETYPE_LENGTH_DELIMITED:
      return "length-delimited";
    case WFL::WIRETYPE_START_GROUP:
      return "start-group";
    case WFL::WIRETYPE_END_GROUP:
      return "end-group";
    case WFL::WIRETYPE_FIXED32:
      return "fixed32";
  }
  return "invalid";
}

int ExpectedWireType(const FieldDescriptor& f) {
  return WFL::WireTypeForFieldType(static_cast<WFL::FieldType>(f.type()));
}

std::string FieldName(const Descriptor& type, uint32_t number, const FieldDescriptor* f) {
  return f ? fmt::format("{}: field {} ({})", type.name(), number, f->name())
           : fmt::format("{}: field {}", type.name(), number);
}

Status Bad(std::string msg) { return MakeError(ErrorCode::kInvalidArgument, std::move(msg)); }

// `base`: offset of bytes[0] in the whole request, for messages.
Status Walk(const Descriptor& type, std::string_view bytes, size_t base, int depth) {
  if (depth > kMaxDepth) {
    return Bad(fmt::format("{}: nested more than {} messages deep", type.name(), kMaxDepth));
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  while (in.CurrentPosition() < static_cast<int>(bytes.size())) {
    const size_t at = base + static_cast<size_t>(in.CurrentPosition());
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      return Bad(
          fmt::format("{}: byte {}: not a field tag (field number 0, or a truncated or "
                      "overlong varint)",
                      type.name(), at));
    }
    const uint32_t number = WFL::GetTagFieldNumber(tag);
    const int wire = WFL::GetTagWireType(tag);
    if (number == 0) return Bad(fmt::format("{}: byte {}: field number 0", type.name(), at));
    const FieldDescriptor* f = type.FindFieldByNumber(static_cast<int>(number));
    const std::string what = FieldName(type, number, f);
    if (f && wire != ExpectedWireType(*f) &&
        !(f->is_packable() && wire == WFL::WIRETYPE_LENGTH_DELIMITED)) {
      return Bad(fmt::format("{} at byte {}: wire type {} ({}), the field is {}", what, at, wire,
                             WireTypeName(wire), WireTypeName(ExpectedWireType(*f))));
    }
    switch (wire) {
      case WFL::WIRETYPE_VARINT: {
        uint64_t v;
        if (!in.ReadVarint64(&v))
          return Bad(fmt::format("{} at byte {}: truncated varint", what, at));
        break;
      }
      case WFL::WIRETYPE_FIXED64: {
        uint64_t v;
        if (!in.ReadLittleEndian64(&v))
          return Bad(fmt::format("{} at byte {}: truncated fixed64", what, at));
        break;
      }
      case WFL::WIRETYPE_FIXED32: {
        uint32_t v;
        if (!in.ReadLittleEndian32(&v))
          return Bad(fmt::format("{} at byte {}: truncated fixed32", what, at));
        break;
      }
      case WFL::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t len;
        if (!in.ReadVarint32(&len))
          return Bad(fmt::format("{} at byte {}: truncated length", what, at));
        const size_t start = static_cast<size_t>(in.CurrentPosition());
        const size_t left = bytes.size() - start;
        if (len > left) {
          return Bad(fmt::format("{} at byte {}: length {} runs past the end ({} bytes left)", what,
                                 at, len, left));
        }
        const std::string_view body = bytes.substr(start, len);
        if (f && f->type() == FieldDescriptor::TYPE_STRING) {
          size_t bad = 0;
          if (!ValidUtf8(body, &bad)) {
            return Bad(
                fmt::format("{}: invalid UTF-8 at byte {} of the field ({} bytes, "
                            "starting \"{}\")",
                            what, bad, body.size(), SafeText(body, 40)));
          }
        } else if (f && f->type() == FieldDescriptor::TYPE_MESSAGE) {
          if (auto st = Walk(*f->message_type(), body, base + start, depth + 1); !st) return st;
        }
        in.Skip(static_cast<int>(len));
        break;
      }
      default:
        return Bad(fmt::format("{} at byte {}: wire type {} ({}) is not used by this API", what, at,
                               wire, WireTypeName(wire)));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckWire(const Descriptor& type, std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return Bad(fmt::format("{}: {} bytes is too large", type.name(), bytes.size()));
  }
  return Walk(type, bytes, 0, 0);
}

Status ParseGuestRequest(std::string_view bytes, google::protobuf::Message* out) {
  if (auto st = CheckWire(*out->GetDescriptor(), bytes); !st) return st;
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Bad(fmt::format("{}: not a valid message", out->GetDescriptor()->name()));
  }
  return Status::Ok();
}

}  // namespace hu::daemon
