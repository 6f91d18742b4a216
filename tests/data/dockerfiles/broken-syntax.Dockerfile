# A typo Docker refuses: both linters must report a syntax error on line 3.
FROM alpine:3.20
RUNN echo hi
USER 1000
