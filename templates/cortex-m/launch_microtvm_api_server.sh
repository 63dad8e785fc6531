#!/bin/sh
# Starts the cortex-m template's Project API server (or a generated project's copy of it).
# TVM's client runs this script with the path of a microtvm_api_server.py as the first argument,
# then --read-fd N --write-fd M [--debug]; this server is JavaScript, so that path is dropped. Set
# MICROTVM_NODE to choose the node binary (Node 20 or later). Only sh built-ins are used here, so
# node is the one program the project needs on PATH to start its server.
case "$1" in
  "" | --*) ;;
  *) shift ;;
esac
case "$0" in
  */*) here="${0%/*}" ;;
  *) here=. ;;
esac
exec "${MICROTVM_NODE:-node}" "$here/microtvm_api_server.js" "$@"
