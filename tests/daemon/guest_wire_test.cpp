// guest_wire: a guest request that is not valid protobuf is refused with a
// message naming the field, the offset and the fault, before protobuf
// parses (or logs) anything of it.
#include "guest_wire.hpp"

#include <gtest/gtest.h>

#include "hyperupcall/guest/v1/guest.pb.h"

namespace hu::daemon {
namespace {

namespace gv1 = hyperupcall::guest::v1;

std::string Message(const std::string& bytes) {
  gv1::RegisterProgramRequest req;
  auto st = ParseGuestRequest(bytes, &req);
  EXPECT_FALSE(st.ok());
  if (st.ok()) return "";
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  return st.error().message;
}

// A length-delimited field by hand: tag, length, bytes.
std::string Field(int number, const std::string& body) {
  std::string out;
  out += static_cast<char>((number << 3) | 2);
  out += static_cast<char>(body.size());
  return out + body;
}

TEST(GuestWire, AValidRequestParses) {
  gv1::RegisterProgramRequest in;
  in.set_hook("trace.exit");
  in.set_name("ok");
  in.set_insns(std::string(16, '\0'));
  in.add_maps()->set_name("counts");
  gv1::RegisterProgramRequest out;
  ASSERT_TRUE(ParseGuestRequest(in.SerializeAsString(), &out).ok());
  EXPECT_EQ(out.hook(), "trace.exit");
  EXPECT_EQ(out.maps(0).name(), "counts");
}

TEST(GuestWire, InvalidUtf8IsNamedWithItsFieldAndOffset) {
  const std::string hook = std::string(31, 'h') + "\xc3";  // half of "é"
  const std::string msg = Message(Field(1, hook));
  EXPECT_NE(msg.find("RegisterProgramRequest: field 1 (hook): invalid UTF-8 at byte 31"),
            std::string::npos)
      << msg;
  // Quoted safely: the message itself is valid UTF-8.
  EXPECT_NE(msg.find("\\xc3"), std::string::npos) << msg;
}

TEST(GuestWire, InvalidUtf8InANestedMessageIsFound) {
  const std::string map = Field(1, "c\xffnt");  // MapDef.name
  const std::string msg = Message(Field(1, "trace.exit") + Field(4, map));
  EXPECT_NE(msg.find("MapDef: field 1 (name): invalid UTF-8 at byte 1"), std::string::npos) << msg;
}

TEST(GuestWire, TruncationAndGarbageAreNamed) {
  EXPECT_NE(Message(std::string("\x0a\x10"
                                "abc",
                                5))
                .find("length 16 runs past the end (3 bytes left)"),
            std::string::npos);
  EXPECT_NE(Message(std::string("\x00\x01", 2)).find("byte 0: not a field tag"), std::string::npos);
  EXPECT_NE(Message("\xa0\x06").find("field 100 at byte 0: truncated varint"), std::string::npos);
  EXPECT_NE(Message("\xff\xff\xff\xff\xff\xff").find("byte 0: not a field tag"), std::string::npos);
  EXPECT_NE(Message("\x02\x00").find("byte 0: field number 0"), std::string::npos);
  EXPECT_NE(Message("\x0b").find("wire type 3 (start-group)"), std::string::npos);
  EXPECT_NE(Message("\x0f").find("wire type 7 (invalid)"), std::string::npos);
  // A known field sent with the wrong wire type.
  EXPECT_NE(Message("\x08\x01")
                .find("field 1 (hook) at byte 0: wire type 0 (varint), the field "
                      "is length-delimited"),
            std::string::npos);
}

TEST(GuestWire, UnknownFieldsAreAllowed) {
  gv1::RegisterProgramRequest out;
  EXPECT_TRUE(ParseGuestRequest(std::string("\xa8\x06\x01", 3), &out).ok());  // field 101
}

}  // namespace
}  // namespace hu::daemon
