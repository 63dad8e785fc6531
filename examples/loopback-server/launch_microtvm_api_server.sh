#!/bin/sh
# Starts this directory's Project API server. TVM's client runs this script with the path of a
# microtvm_api_server.py first, then --read-fd N --write-fd M [--debug]. This server is
# JavaScript, so a first argument that is not an option is dropped.
# Set MICROTVM_NODE to choose the node binary.
case "$1" in
  "" | -*) ;;
  *) shift ;;
esac
exec "${MICROTVM_NODE:-node}" "$(dirname "$0")/microtvm_api_server.js" "$@"
