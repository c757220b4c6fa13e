package io.pgsidecar.agent.http;

/** A route's answer: a status and a body Jackson can write. */
public record Reply(int status, Object body) {}
