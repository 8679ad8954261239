# The twistd plugin: 'twistd chatroom --help'.  Everything lives in chatproto.tap.
from twisted.application.service import ServiceMaker

chatroom = ServiceMaker(
    "chatroom", "chatproto.tap", "A chat room over TCP (chatproto)", "chatroom"
)
