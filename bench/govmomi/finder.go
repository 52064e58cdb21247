package main

import (
	"context"
	"strings"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// finder is finder.go: path tokens matched by name, one ContainerView per level, then a recursive
// view of the wanted type at the "**" leaf, read with the properties Telegraf's getters use.
type finder struct {
	c       *vim25.Client
	timeout time.Duration
}

var childTypes = map[string][]string{
	"HostSystem":             {"VirtualMachine"},
	"ResourcePool":           {"VirtualMachine"},
	"ComputeResource":        {"HostSystem", "ResourcePool", "VirtualApp"},
	"ClusterComputeResource": {"HostSystem", "ResourcePool", "VirtualApp"},
	"Datacenter":             {"Folder"},
	"Folder":                 {"Folder", "Datacenter", "VirtualMachine", "ComputeResource", "ClusterComputeResource", "Datastore"},
}

var addFields = map[string][]string{
	"HostSystem":   {"parent", "summary.customValue", "customValue"},
	"ResourcePool": {"parent", "customValue"},
	"VirtualMachine": {"runtime.host", "config.guestId", "config.uuid", "runtime.powerState",
		"summary.customValue", "summary.config.memorySizeMB", "guest.guestId", "guest.net", "guest.hostName",
		"resourcePool", "customValue"},
}

var containers = map[string]bool{"HostSystem": true, "ComputeResource": true, "Datacenter": true,
	"ResourcePool": true, "Folder": true, "VirtualApp": true}

func (f *finder) findAll(ctx context.Context, resType, path string) ([]types.ObjectContent, error) {
	ctx1, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	p := strings.Split(path, "/")
	tokens := make([]property.Filter, len(p)-1)
	for i := 1; i < len(p); i++ {
		tokens[i-1] = property.Filter{"name": p[i]}
	}
	objs := map[string]types.ObjectContent{}
	if err := f.descend(ctx1, f.c.ServiceContent.RootFolder, resType, tokens, 0, objs); err != nil {
		return nil, err
	}
	out := make([]types.ObjectContent, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	return out, nil
}

func (f *finder) descend(ctx context.Context, root types.ManagedObjectReference, resType string,
	tokens []property.Filter, pos int, objs map[string]types.ObjectContent) error {
	isLeaf := pos == len(tokens)-1
	if pos >= len(tokens) {
		return nil
	}
	ct, ok := childTypes[root.Type]
	if !ok {
		return nil
	}
	m := view.NewManager(f.c)
	v, err := m.CreateContainerView(ctx, root, ct, false)
	if err != nil {
		return err
	}
	defer v.Destroy(ctx) //nolint:errcheck
	var content []types.ObjectContent
	fields := []string{"name"}
	recurse := tokens[pos]["name"] == "**"
	objectTypes := ct
	if isLeaf {
		fields = append(fields, addFields[resType]...)
		if recurse {
			v2, err := m.CreateContainerView(ctx, root, []string{resType}, true)
			if err != nil {
				return err
			}
			defer v2.Destroy(ctx) //nolint:errcheck
			if err := v2.Retrieve(ctx, []string{resType}, fields, &content); err != nil {
				return err
			}
			for _, c := range content {
				objs[c.Obj.String()] = c
			}
			return nil
		}
		objectTypes = []string{resType}
	}
	if err := v.Retrieve(ctx, objectTypes, fields, &content); err != nil {
		return err
	}
	rerunAsLeaf := false
	for _, c := range content {
		if !matchName(tokens[pos], c.PropSet) {
			continue
		}
		if _, ok := objs[root.String()]; ok {
			continue
		}
		if c.Obj.Type == resType && isLeaf {
			objs[c.Obj.String()] = c
			continue
		}
		inc := 1
		if recurse {
			inc = 0
			if matchName(tokens[pos+1], c.PropSet) {
				if pos == len(tokens)-2 {
					if c.Obj.Type == resType {
						rerunAsLeaf = true
						continue
					}
				} else if containers[c.Obj.Type] {
					inc = 2
				}
			}
		}
		if err := f.descend(ctx, c.Obj, resType, tokens, pos+inc, objs); err != nil {
			return err
		}
	}
	if rerunAsLeaf {
		return f.descend(ctx, root, resType, tokens, pos+1, objs)
	}
	return nil
}

func matchName(f property.Filter, props []types.DynamicProperty) bool {
	for _, prop := range props {
		if prop.Name == "name" {
			return f.MatchProperty(prop)
		}
	}
	return false
}
