package io.pgsidecar.walclient;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An agent that answers from a script, for the answers a real one gives only under faults. The
 * i-th connection gets answer i (the last one repeats); an answer is raw HTTP, and a suffix says
 * what body follows the head: {@code BODY} the whole body, {@code CUT} half of it and then the
 * connection closes (as the agent's reset on a checksum mismatch looks), {@code CHUNKED} the body
 * in chunked encoding. Each request's head is recorded.
 */
final class ScriptedAgent implements AutoCloseable {
  private final ServerSocketChannel server;
  private final Path socket;
  private final List<String> answers;
  private final byte[] body;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final Thread thread;

  ScriptedAgent(Path socket, List<String> answers, byte[] body) throws IOException {
    this.socket = socket;
    this.answers = answers;
    this.body = body;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    thread = Thread.ofPlatform().daemon().start(this::serve);
  }

  List<String> requests() {
    return requests;
  }

  private void serve() {
    while (server.isOpen()) {
      try (SocketChannel c = server.accept()) {
        requests.add(readHead(c));
        String answer = answers.get(Math.min(requests.size() - 1, answers.size() - 1));
        if (answer.endsWith("BODY")) {
          write(c, answer.substring(0, answer.length() - 4).getBytes(StandardCharsets.ISO_8859_1));
          write(c, body);
        } else if (answer.endsWith("CUT")) {
          write(c, answer.substring(0, answer.length() - 3).getBytes(StandardCharsets.ISO_8859_1));
          write(c, java.util.Arrays.copyOf(body, body.length / 2));
        } else if (answer.endsWith("CHUNKED")) {
          write(c, answer.substring(0, answer.length() - 7).getBytes(StandardCharsets.ISO_8859_1));
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          for (int off = 0; off < body.length; off += 70_000) {
            int n = Math.min(70_000, body.length - off);
            out.writeBytes((Integer.toHexString(n) + ";ext=1\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body, off, n);
            out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
          }
          out.writeBytes("0\r\nX-Trailer: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          write(c, out.toByteArray());
        } else {
          write(c, answer.getBytes(StandardCharsets.ISO_8859_1));
        }
      } catch (IOException e) {
        // closed, or the client went away: the test asserts what the client did
      }
    }
  }

  private static String readHead(SocketChannel c) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      one.clear();
      if (c.read(one) < 0) {
        break;
      }
      head.write(one.get(0));
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static void write(SocketChannel c, byte[] b) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(b);
    while (buf.hasRemaining()) {
      c.write(buf);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Files.deleteIfExists(socket);
  }
}
