package io.flanneld.daemon;

import io.flanneld.daemon.HttpRoutes.Response;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's HTTP: the deadline for its next request, the answer from {@link HttpRoutes}, keep-alive or close,
 * and the refusal of a request too large (413) or malformed (400). {@link #install} sets up a connection's pipeline.
 */
final class HttpExchange extends SimpleChannelInboundHandler<FullHttpRequest> {
    // Logged under the listener's name, the subsystem an operator knows.
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);
    /** Set once a request was refused: what else arrives on the connection is read and dropped. */
    private static final AttributeKey<Boolean> REFUSED = AttributeKey.valueOf(HttpExchange.class, "refused");
    private final HttpRoutes routes;
    private final long timeoutNanos;
    private ScheduledFuture<?> deadline;

    private HttpExchange(HttpRoutes routes, long timeoutNanos) {
        this.routes = routes;
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * Adds the HTTP decoding and this exchange to a new connection's pipeline.
     *
     * @param timeoutNanos how long a request may take to arrive complete, from the connection's start or the previous
     *     response
     * @param maxRequestBytes the largest request headers, and the largest body
     */
    static void install(ChannelPipeline pipeline, HttpRoutes routes, long timeoutNanos, int maxRequestBytes) {
        pipeline.addLast(new HttpServerCodec(4096, maxRequestBytes, maxRequestBytes))
                .addLast(new Aggregator(maxRequestBytes))
                .addLast(new HttpExchange(routes, timeoutNanos));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm(ctx);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        deadline = ctx.executor().schedule(() -> {
            ctx.close();
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!ctx.channel().isActive() || ctx.channel().hasAttr(REFUSED)) {
            return; // closed (evicted, timed out) or refused while pipelined requests were being decoded
        }
        if (request.decoderResult().isFailure()) {
            refuse(ctx, request.decoderResult().cause() instanceof TooLongFrameException
                    ? Response.text(413, "request too large\n")
                    : Response.text(400, "bad request\n"));
            return;
        }
        boolean head = request.method().equals(HttpMethod.HEAD);
        if (!ctx.channel().isWritable()) {
            ctx.close(); // earlier answers are still unsent: the client is not reading them
            return;
        }
        Response response = routes.answer(request.method().name(), request.uri());
        boolean keepAlive = request.protocolVersion().equals(HttpVersion.HTTP_1_1) && HttpUtil.isKeepAlive(request);
        if (keepAlive) {
            ctx.writeAndFlush(encode(response, head, true)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            arm(ctx);
        } else {
            ctx.writeAndFlush(encode(response, head, false)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Answers a request that will not be served (too large, malformed) and ends the connection. The client may
     * still be sending it: closing at once would make the kernel answer those bytes with a reset, which can
     * destroy the answer before the client reads it. So the output is shut after the answer, the rest of the
     * input is read and dropped, and the connection closes when the client closes its side or at the deadline
     * already running (at most the header timeout).
     */
    private static void refuse(ChannelHandlerContext ctx, Response response) {
        Channel ch = ctx.channel();
        ch.attr(REFUSED).set(Boolean.TRUE);
        ctx.writeAndFlush(encode(response, false, false)).addListener((ChannelFuture f) -> {
            if (f.isSuccess() && ch instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                ch.close();
            }
        });
    }

    private static FullHttpResponse encode(Response r, boolean head, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
        r.headers().forEach((name, value) -> response.headers().set(name, value));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        // HEAD describes the GET answer: its length, without the body.
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets and the like: nothing to answer, and no reason to fill the log at a client's request.
        LOG.debug("healthz connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    /** Answers an oversized request with 413 and closes, whether or not the client asked for keep-alive. */
    private static final class Aggregator extends HttpObjectAggregator {
        Aggregator(int maxContentLength) {
            super(maxContentLength);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            // The base class releases the message.
            refuse(ctx, Response.text(413, "request too large\n"));
        }
    }
}
