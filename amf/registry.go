package amf

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry maps class aliases (AS3's registerClassAlias) onto Go struct
// types, both ways. Safe for concurrent use. The zero Registry is empty
// and ready; NewRegistry has Flex's collections.
type Registry struct {
	mu      sync.RWMutex
	byAlias map[string]*class
	byType  map[reflect.Type]*class
	gen     atomic.Uint64 // changes with every Register: encoders' caches check it
}

// class is one registered alias: its struct type, its traits as they are
// sent (shared, so that an encoder sends them by reference after the first
// time) and the struct fields of its sealed members.
type class struct {
	typ      reflect.Type // the struct type T (values decode as *T)
	traits   *Traits
	fields   []int          // field index of each of traits.Sealed
	byName   map[string]int // sealed member name -> field index
	external bool           // *T implements Externalizable
}

// NewRegistry returns a registry with only Flex's externalizable
// collections (ArrayCollection, ArrayList, ObjectProxy) registered.
func NewRegistry() *Registry {
	r := &Registry{byAlias: map[string]*class{}, byType: map[reflect.Type]*class{}}
	for alias, v := range map[string]any{
		"flex.messaging.io.ArrayCollection": ArrayCollection(nil),
		"flex.messaging.io.ArrayList":       ArrayList(nil),
		"flex.messaging.io.ObjectProxy":     ObjectProxy{},
	} {
		if err := r.Register(alias, v); err != nil {
			panic(err) // the built-ins are valid
		}
	}
	return r
}

// DefaultRegistry is the registry that encoders and decoders use unless
// given another.
var DefaultRegistry = NewRegistry()

// RegisterClassAlias registers alias for v's type in DefaultRegistry (see
// Registry.Register). Any goroutine.
func RegisterClassAlias(alias string, v any) error { return DefaultRegistry.Register(alias, v) }

// Register maps alias onto the type of v, a struct (or a pointer to one,
// or, for an Externalizable, any type whose pointer implements it):
// values of that type encode as objects of class alias, and objects of
// class alias decode as pointers to it. A struct's sealed members are its
// exported fields in order, named by an `amf:"name"` tag or their Go
// name; `amf:"-"` leaves a field out. Registering an alias again, or a
// type again, replaces the earlier mapping, as registerClassAlias does.
// Any goroutine.
func (r *Registry) Register(alias string, v any) error {
	if alias == "" {
		return fmt.Errorf("amf: an empty class alias is an anonymous object")
	}
	t := reflect.TypeOf(v)
	if t == nil {
		return fmt.Errorf("amf: no type to register for %q", alias)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c := &class{typ: t, external: reflect.PointerTo(t).Implements(externalizableType)}
	c.traits = &Traits{Class: alias, Externalizable: c.external}
	if !c.external {
		if t.Kind() != reflect.Struct {
			return fmt.Errorf("amf: class %q: %v is neither a struct nor Externalizable", alias, t)
		}
		c.byName = map[string]int{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("amf"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := c.byName[name]; dup {
				return fmt.Errorf("amf: class %q: two fields are named %q", alias, name)
			}
			c.byName[name] = i
			c.fields = append(c.fields, i)
			c.traits.Sealed = append(c.traits.Sealed, name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byAlias == nil { // the zero Registry
		r.byAlias, r.byType = map[string]*class{}, map[reflect.Type]*class{}
	}
	if old := r.byAlias[alias]; old != nil && r.byType[old.typ] == old {
		delete(r.byType, old.typ)
	}
	if old := r.byType[t]; old != nil && r.byAlias[old.traits.Class] == old {
		delete(r.byAlias, old.traits.Class)
	}
	r.byAlias[alias] = c
	r.byType[t] = c
	r.gen.Add(1)
	return nil
}

// traitsNames returns the first i sealed names of c's traits (none for a
// nil c).
func (c *class) traitsNames(i int) []string {
	if c == nil {
		return nil
	}
	return c.traits.Sealed[:i]
}

// alias returns the class registered under name, or nil.
func (r *Registry) alias(name string) *class {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byAlias[name]
}

// ofType returns the class registered for t, or nil.
func (r *Registry) ofType(t reflect.Type) *class {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byType[t]
}
