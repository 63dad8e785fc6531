#!/bin/sh
# Starts this directory's Project API server. TVM's client runs this script with the path of a
# microtvm_api_server.py first, then --read-fd N --write-fd M [--debug]. This server is
# JavaScript, so a first argument that is not an option is dropped.
# Set MICROTVM_NODE to choose the node binary.
case "$1" in
  "" | -*) ;;
  *) shift ;;
esac
# Only sh built-ins are used, so node is the one program needed on PATH.
case "$0" in
  */*) here="${0%/*}" ;;
  *) here=. ;;
esac
exec "${MICROTVM_NODE:-node}" "$here/microtvm_api_server.js" "$@"
