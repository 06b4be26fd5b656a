package mqtt

// topics are the bridge's topic names.
type topics struct {
	status, event, people, snapshot string
	personPrefix                    string
	requests, requestPrefix         string
	responsePrefix                  string
	haStatus, haName, haNameState   string
	haRegister, discovery           string
}

func newTopics(o Options) topics {
	b := o.BaseTopic
	return topics{
		status:         b + "/status",
		event:          b + "/event",
		people:         b + "/people",
		snapshot:       b + "/snapshot",
		personPrefix:   b + "/person/",
		requests:       b + "/request/+",
		requestPrefix:  b + "/request/",
		responsePrefix: b + "/response/",
		haStatus:       o.DiscoveryPrefix + "/status",
		haName:         b + "/ha/name",
		haNameState:    b + "/ha/name/state",
		haRegister:     b + "/ha/register",
		discovery:      o.DiscoveryPrefix + "/device/" + o.DeviceID + "/config",
	}
}

func (t topics) person(id string) string { return t.personPrefix + id }

func (t topics) response(op string) string { return t.responsePrefix + op }
