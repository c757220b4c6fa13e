# The agent's JVM, in one place: bin/pgsidecar (a checkout) and the image's launcher
# (container/bin/pgsidecar, which scripts/image.sh copies this file beside) both source it, and
# the image's class-data archive is made with these flags. Bash builtins only (the image has no
# coreutils). Sets AGENT_JVM_FLAGS; "jdkNN+:FLAG" is FLAG on Java NN or later only (bin/lib's
# launch() drops it on older JVMs; the image's JRE is 25). PGSIDECAR_JAVA_OPTS comes later and wins.
#
# Memory (bench/README.md, wal-archive.sh, "Fourth session"): the agent streams everything, its
# live heap is 20-30 MiB while archiving and under 45 MiB during a base backup. A base backup
# needs (storage.azure.concurrency + 1) x storage.azure.block-size of heap for its blocks (40 MiB
# by default): raise -Xmx with those.
#  - heap: serial collector, at most 80 MiB, grown only as far as the live set needs (at most 30 %
#    free after a collection, 10 % at least: MaxHeapFreeRatio / MinHeapFreeRatio) instead of to
#    the limit at the first burst, and shrunk again after one;
#  - young generation fixed at 20 MiB (-Xmn20m: eden 12, two survivors of 4: SurvivorRatio=3),
#    survivors filled to 80 % before objects are promoted early (TargetSurvivorRatio=80): what a
#    push holds while it runs (encoder chunks, request state) then dies in the young generation
#    instead of being promoted and filling the old one with garbage until a full collection.
#    Sized by ratio, the young generation followed the old one up to 27 MiB with 2.7 MiB
#    survivors. Measured (bench/README.md, wal-archive.sh, "Fifth session"): heap committed at
#    most 57-60 MiB instead of 70-76, RSS at the end of the load 211 instead of 231 MiB, peak RSS
#    217 instead of 239 MiB without NMT (unchanged at 237 with NMT: the rest of the peak is a
#    native burst in a backlog's drain, see there). The old
#    generation may now grow to 60 MiB (was 53): more room for a base backup's blocks.
#  - direct buffers (Netty's pools, NIO) at most 64 MiB (the JVM's default is the heap's size);
#    Reactor Netty (the Azure SDK's HTTP client) on 2 event loops instead of max(4, cores): each
#    loop keeps its own buffer cache, and two loops keep the look-ahead's 4 uploads busy;
#  - metaspace capped at 128 MiB, so a class leak ends the process rather than the node (most
#    classes come mapped from the class-data archive);
#  - JIT code capped at 64 MiB (the default reserves 240 MiB);
#  - native memory handed back to the system every second (Java 22+; JIT arenas and TLS buffers
#    freed after a burst), two malloc arenas.
# Measured and not taken (bench/README.md, wal-archive.sh, "Sixth session"): the JDK's TLS
# instead of OpenSSL (-Dio.netty.handler.ssl.noOpenSsl=true), a C2 memory limit
# (-XX:CompileCommand=MemLimit), a fixed glibc mmap threshold, reused zstd contexts: none lowered
# the peak RSS of a backlog's drain, which is heap, class-data archive, code and malloc arenas.
# Out of memory, the JVM exits so that the container restarts (PostgreSQL keeps every segment
# until it is archived) instead of limping.
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
AGENT_JVM_FLAGS=(-XX:+UseSerialGC -XX:MaxRAM=512m -Xmx80m -Xmn20m -XX:SurvivorRatio=3
  -XX:TargetSurvivorRatio=80 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:MaxDirectMemorySize=64m -Dreactor.netty.ioWorkerCount=2
  -XX:MaxMetaspaceSize=128m -XX:ReservedCodeCacheSize=64m jdk22+:-XX:TrimNativeHeapInterval=1000
  -XX:+ExitOnOutOfMemoryError)
