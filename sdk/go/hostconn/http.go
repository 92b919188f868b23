package hostconn

import (
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "hst.local/sdk/gen/hst/plugin/v1"
)

// HTTPRequest is one request to a route or widget the manifest declares,
// as `hst serve` hands it over from under /plugins/<name>/.
type HTTPRequest struct {
	// Kind is "route" or "widget".
	Kind    string
	Handler string
	Method  string
	// Path is under /plugins/<name>, from "/".
	Path string
	// Params holds the route's :parameters, and "*" for what a final * matched.
	Params map[string]string
	Query  url.Values
	// Header names are lower case.
	Header map[string]string
	Body   []byte
}

// HTTPResponse is a handler's answer; Status 0 is 200, and a missing
// content-type is HTML.
type HTTPResponse struct {
	Status int
	Header map[string]string
	Body   []byte
}

// HTTPHandler answers one request; its error's message reaches the host.
type HTTPHandler func(req *HTTPRequest) (*HTTPResponse, error)

// RegisterHTTP serves hst.plugin.v1.Http on s: the manifest's routes and
// widgets, by handler name.
func RegisterHTTP(s *grpc.Server, handlers map[string]HTTPHandler) {
	pluginv1.RegisterHttpServer(s, httpServer{handlers: handlers})
}

type httpServer struct {
	pluginv1.UnimplementedHttpServer
	handlers map[string]HTTPHandler
}

func (h httpServer) Handle(req *pluginv1.HttpRequest, stream grpc.ServerStreamingServer[pluginv1.HttpResponse]) error {
	handler, ok := h.handlers[req.GetHandler()]
	if !ok {
		return status.Errorf(codes.NotFound, "no http handler %q", req.GetHandler())
	}
	query := url.Values{}
	for _, f := range req.GetQuery() {
		query.Add(f.GetName(), f.GetValue())
	}
	header := map[string]string{}
	for _, f := range req.GetHeaders() {
		header[f.GetName()] = f.GetValue()
	}
	resp, err := handler(&HTTPRequest{Kind: req.GetKind(), Handler: req.GetHandler(), Method: req.GetMethod(), Path: req.GetPath(), Params: req.GetParams(), Query: query, Header: header, Body: req.GetBody()})
	if err != nil {
		if _, isStatus := status.FromError(err); isStatus {
			return err
		}
		return status.Error(codes.Unknown, err.Error())
	}
	fields := []*pluginv1.HttpField{}
	hasType := false
	for name, value := range resp.Header {
		name = strings.ToLower(name)
		hasType = hasType || name == "content-type"
		fields = append(fields, &pluginv1.HttpField{Name: name, Value: value})
	}
	if !hasType {
		fields = append(fields, &pluginv1.HttpField{Name: "content-type", Value: "text/html; charset=utf-8"})
	}
	code := int32(resp.Status)
	if code == 0 {
		code = 200
	}
	if err := stream.Send(&pluginv1.HttpResponse{Part: &pluginv1.HttpResponse_Head{Head: &pluginv1.HttpResponseHead{Status: code, Headers: fields}}}); err != nil {
		return err
	}
	if len(resp.Body) == 0 {
		return nil
	}
	return stream.Send(&pluginv1.HttpResponse{Part: &pluginv1.HttpResponse_Body{Body: resp.Body}})
}
