#!/bin/bash
# Instructions per iteration (callgrind) of the packets bench's functions, setup excluded:
# each function runs 1000 and 11000 times (PACKETS_IR=NAME:N, see benches/packets.rs) and
# the difference is divided by 10000. Deterministic, unlike the times on a shared machine.
# usage: benches/ir.sh BIN OUTFILE [names...]
#   BIN: the bench binary (cargo bench -p benches --bench packets --no-run prints it)
BIN=$1; OUT=$2; shift 2
NAMES="$@"
[ -z "$NAMES" ] && NAMES="build/tcp/craft build/tcp/compose build/tcp/compose_str build/tcp/etherparse build/tcp/pnet build/tcp/smoltcp build/tcp/floor parse/tcp/craft parse/tcp/etherparse parse/tcp/pnet parse/tcp/smoltcp parse/tcp/floor build/udp/craft build/udp/compose build/udp/etherparse build/udp/pnet build/udp/smoltcp build/udp/floor parse/udp/craft parse/udp/etherparse parse/udp/pnet parse/udp/smoltcp parse/udp/floor build/gue/craft build/gue/compose build/gue/floor parse/gue/craft parse/gue/etherparse_to_udp parse/gue/etherparse_full"
D=$(mktemp -d)
one() {
  local name=$1 n=$2 f=$3
  PACKETS_IR=$name:$n valgrind --tool=callgrind --callgrind-out-file=$f $BIN >/dev/null 2>$f.err
  grep -m1 -o 'Collected : [0-9]*' $f.err | awk '{print $3}'
}
: > $OUT
for name in $NAMES; do
  k=$(echo $name | tr / _)
  a=$(one $name 1000 $D/$k.a) 
  b=$(one $name 11000 $D/$k.b)
  echo "$name $(( (b - a) / 10000 ))" | tee -a $OUT
done
rm -rf $D
