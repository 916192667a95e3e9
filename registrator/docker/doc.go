// Package docker is the registrator's view of the Docker engine: a container
// event stream, the container list and inspect, converted into
// registrator.Container values.
package docker
